/**
 * Signing in: locally through the demo sign-in route (exists only with the local identity),
 * in production through Cognito's hosted sign-in with the authorization-code flow and PKCE
 * (oidc-client-ts). Either way the app then asks the API who the token belongs to.
 */
import type { UserManager } from "oidc-client-ts";
import { ApiProblem, unwrap, api } from "../api/client";
import { session, type Identity } from "./session";

export interface WebConfig {
  auth: "local" | "oidc";
  oidc?: { authority: string; client_id: string; scope: string };
}

let configPromise: Promise<WebConfig> | null = null;

export function webConfig(): Promise<WebConfig> {
  configPromise ??= fetch("/config.json", { headers: { Accept: "application/json" } }).then(
    async (response) => {
      if (!response.ok) throw new ApiProblem(response.status, { title: "No app configuration" });
      return (await response.json()) as WebConfig;
    },
  );
  return configPromise;
}

async function whoIs(token: string, expiresAt: number, displayName: string, via: Identity["via"]) {
  const response = await fetch("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new ApiProblem(response.status, await response.json().catch(() => ({})));
  const me = (await response.json()) as {
    subject: string;
    role: Identity["role"];
    customer_id: string | null;
    staff_id: string | null;
  };
  const identity: Identity = {
    token,
    expiresAt,
    role: me.role,
    subject: me.subject,
    displayName,
    customerId: me.customer_id,
    staffId: me.staff_id,
    via,
  };
  session.set(identity);
  return identity;
}

export async function signInAsDemoPerson(name: string): Promise<Identity> {
  const result = await unwrap(api.POST("/auth/local/sign-in", { body: { name } }));
  return whoIs(
    result.access_token,
    Date.parse(result.expires_at),
    result.person.display_name,
    "local",
  );
}

let manager: Promise<UserManager> | null = null;

async function userManager(): Promise<UserManager> {
  manager ??= (async () => {
    const config = await webConfig();
    if (config.auth !== "oidc" || !config.oidc) throw new Error("OIDC is not configured");
    const { UserManager, WebStorageStateStore } = await import("oidc-client-ts");
    return new UserManager({
      authority: config.oidc.authority,
      client_id: config.oidc.client_id,
      scope: config.oidc.scope,
      redirect_uri: `${window.location.origin}/auth/callback`,
      post_logout_redirect_uri: `${window.location.origin}/sign-in`,
      response_type: "code", // authorization code; oidc-client-ts adds PKCE (S256)
      userStore: new WebStorageStateStore({ store: window.sessionStorage }),
      automaticSilentRenew: false,
    });
  })();
  return manager;
}

export async function startOidcSignIn(returnTo: string): Promise<void> {
  await (await userManager()).signinRedirect({ state: { returnTo } });
}

/** Completes the redirect back from the identity provider; returns where to go next. */
export async function completeOidcSignIn(): Promise<string> {
  const user = await (await userManager()).signinRedirectCallback();
  // The API verifies Cognito ID tokens (their audience is the app client).
  const token = user.id_token;
  if (!token || !user.expires_at) throw new Error("The identity provider returned no ID token");
  const name = String(user.profile.name ?? user.profile.email ?? user.profile.sub);
  await whoIs(token, user.expires_at * 1000, name, "oidc");
  const state = user.state as { returnTo?: string } | undefined;
  return state?.returnTo ?? "/";
}

export async function signOut(): Promise<void> {
  const identity = session.identity();
  session.signOut();
  if (identity?.via === "oidc") {
    const um = await userManager();
    await um.removeUser();
    await um.signoutRedirect().catch(() => undefined);
  }
}
