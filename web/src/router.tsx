/**
 * The app's routes (TanStack Router, code-based). Staff screens and the owner's portal live in
 * one app; each route says which roles may open it, and the shell shows each role its own
 * navigation. Deep links work because the API serves index.html for any non-API path.
 */
import {
  Navigate,
  Outlet,
  createRootRoute,
  createRoute,
  createRouter,
  useRouterState,
} from "@tanstack/react-router";
import { lazy, Suspense, type ComponentType } from "react";
import { Shell } from "./Shell";
import type { Role } from "./auth/session";
import { useIdentity } from "./auth/useSession";
import { Loading } from "./ui/states";
import { SignInPage, OidcCallbackPage } from "./screens/SignIn";
import { rememberNext } from "./auth/next";

// Screens with charts or big forms load on demand, keeping the first screen small.
const BoardPage = lazy(() => import("./screens/Board"));
const OrderPage = lazy(() => import("./screens/Order"));
const IntakePage = lazy(() => import("./screens/Intake"));
const MyJobsPage = lazy(() => import("./screens/MyJobs"));
const InspectionPage = lazy(() => import("./screens/Inspection"));
const VehiclePage = lazy(() => import("./screens/Vehicle"));
const ManagerPage = lazy(() => import("./screens/Manager"));
const AuditPage = lazy(() => import("./screens/Audit"));
const PortalHome = lazy(() => import("./portal/PortalHome"));
const PortalOrder = lazy(() => import("./portal/PortalOrder"));
const QuoteApprovalPage = lazy(() => import("./portal/QuoteApproval"));

export function homeFor(role: Role): string {
  switch (role) {
    case "customer":
      return "/portal";
    case "technician":
      return "/my-jobs";
    case "auditor":
      return "/audit";
    case "manager":
      return "/manager";
    default:
      return "/board";
  }
}

/** Signed-in only, and only for the listed roles; others are sent to their own home. */
function guarded(Screen: ComponentType, roles: readonly Role[]) {
  return function Guarded() {
    const identity = useIdentity();
    const href = useRouterState({ select: (s) => s.location.href });
    if (!identity) {
      // Remembered for after sign-in (a search parameter on <Navigate> re-renders in a loop).
      rememberNext(href);
      return <Navigate to="/sign-in" replace />;
    }
    if (!roles.includes(identity.role)) return <Navigate to={homeFor(identity.role)} replace />;
    return (
      <Suspense fallback={<Loading />}>
        <Screen />
      </Suspense>
    );
  };
}

const STAFF: Role[] = ["advisor", "manager", "technician", "auditor"];
const rootRoute = createRootRoute({ component: () => <Outlet /> });

const signIn = createRoute({
  getParentRoute: () => rootRoute,
  path: "/sign-in",
  component: SignInPage,
});
const callback = createRoute({
  getParentRoute: () => rootRoute,
  path: "/auth/callback",
  component: OidcCallbackPage,
});
// The emailed approval link needs no sign-in: the link's token is the authority.
const quoteApproval = createRoute({
  getParentRoute: () => rootRoute,
  path: "/portal/repair-orders/$orderId/quote",
  validateSearch: (search: Record<string, unknown>): { token?: string } =>
    typeof search.token === "string" ? { token: search.token } : {},
  component: () => (
    <Suspense fallback={<Loading />}>
      <QuoteApprovalPage />
    </Suspense>
  ),
});

const shell = createRoute({ getParentRoute: () => rootRoute, id: "shell", component: Shell });

function Home() {
  const identity = useIdentity();
  if (!identity) return <Navigate to="/sign-in" replace />;
  return <Navigate to={homeFor(identity.role)} replace />;
}

const route = (path: string, Screen: ComponentType, roles: readonly Role[]) =>
  createRoute({ getParentRoute: () => shell, path, component: guarded(Screen, roles) });

const home = createRoute({ getParentRoute: () => shell, path: "/", component: Home });
const board = route("/board", BoardPage, ["advisor", "manager", "technician", "auditor"]);
const intake = route("/intake", IntakePage, ["advisor", "manager"]);
const order = route("/repair-orders/$orderId", OrderPage, STAFF);
const myJobs = route("/my-jobs", MyJobsPage, ["technician"]);
const inspection = route("/inspections/$inspectionId", InspectionPage, STAFF);
const vehicle = route("/vehicles/$vehicleId", VehiclePage, STAFF);
const manager = route("/manager", ManagerPage, ["manager", "auditor"]);
const audit = route("/audit", AuditPage, ["auditor", "manager"]);
const portal = route("/portal", PortalHome, ["customer"]);
const portalOrder = route("/portal/repair-orders/$orderId", PortalOrder, ["customer"]);

const routeTree = rootRoute.addChildren([
  signIn,
  callback,
  quoteApproval,
  shell.addChildren([
    home,
    board,
    intake,
    order,
    myJobs,
    inspection,
    vehicle,
    manager,
    audit,
    portal,
    portalOrder,
  ]),
]);

export const router = createRouter({ routeTree, defaultPreload: false });

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}
