import { Burger, Button, Group, NavLink, Stack, Text, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { Link, Outlet, useNavigate, useRouterState } from "@tanstack/react-router";
import { lazy, Suspense, useState } from "react";
import { takeNext } from "./auth/next";
import { signOut } from "./auth/signIn";
import type { Role } from "./auth/session";
import { useIdentity } from "./auth/useSession";
import { Loading } from "./ui/states";

// The assistant loads when first opened (it is not part of the first screen's script).
const ChatPanel = lazy(() => import("./chat/ChatPanel").then((m) => ({ default: m.ChatPanel })));

const NAV: { to: string; label: string; roles: Role[] }[] = [
  { to: "/board", label: "Workshop board", roles: ["advisor", "manager", "technician", "auditor"] },
  { to: "/intake", label: "Intake", roles: ["advisor", "manager"] },
  { to: "/my-jobs", label: "My jobs", roles: ["technician"] },
  { to: "/manager", label: "KPIs & staff", roles: ["manager", "auditor"] },
  { to: "/audit", label: "Audit log", roles: ["auditor", "manager"] },
  { to: "/portal", label: "My vehicles & orders", roles: ["customer"] },
];

/** The layout: header, navigation (a drawer on phones) and the screen. Plain CSS (app.css)
 * rather than Mantine's AppShell, whose responsive sizes need an inline <style> the CSP forbids. */
export function Shell() {
  const identity = useIdentity();
  const navigate = useNavigate();
  const [opened, { toggle, close }] = useDisclosure();
  const path = useRouterState({ select: (s) => s.location.pathname });
  const links = NAV.filter((n) => identity && n.roles.includes(identity.role));
  const [chatOpen, setChatOpen] = useState(false);
  return (
    <div className="shell" data-nav-open={opened}>
      <header className="shell-header">
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} size="sm" aria-label="Toggle navigation" className="burger" />
            <Title order={1} size="h4">
              ReGenZet
            </Title>
          </Group>
          {identity && (
            <Group gap="sm" wrap="nowrap">
              <Button
                size="xs"
                variant={chatOpen ? "filled" : "light"}
                aria-expanded={chatOpen}
                aria-controls="chat-panel"
                onClick={() => setChatOpen((open) => !open)}
              >
                Assistant
              </Button>
              <Text size="sm" data-testid="signed-in-as" className="who">
                {identity.displayName} · {identity.role}
              </Text>
              <Button
                size="xs"
                variant="default"
                onClick={async () => {
                  await signOut();
                  await navigate({ to: "/sign-in" });
                  takeNext(); // a chosen sign-out is not a deep link to come back to

                }}
              >
                Sign out
              </Button>
            </Group>
          )}
        </Group>
      </header>
      <nav className="shell-nav" aria-label="Main">
        <Stack gap={2} p="xs">
          {links.map((link) => (
            <NavLink
              key={link.to}
              component={Link}
              to={link.to}
              label={link.label}
              active={path.startsWith(link.to)}
              onClick={close}
            />
          ))}
        </Stack>
      </nav>
      <main className="shell-main">
        <Outlet />
      </main>
      {identity && chatOpen ? (
        <div className="chat-dock" id="chat-panel">
          <Suspense fallback={<Loading label="Opening the assistant…" />}>
            <ChatPanel role={identity.role} onClose={() => setChatOpen(false)} />
          </Suspense>
        </div>
      ) : null}
    </div>
  );
}
