/**
 * The signed-in person: a bearer token kept in sessionStorage (this tab only, gone when it
 * closes, never a cookie), with who the API says they are (`GET /api/v1/me`). When the token
 * expires, or the API answers 401, the session ends and the app shows the sign-in page.
 */
import type { components } from "../api/schema";

export type Role = components["schemas"]["Role"];

export interface Identity {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  role: Role;
  subject: string;
  displayName: string;
  customerId: string | null;
  staffId: string | null;
  /** How the user signed in: the local demo page or the identity provider (OIDC). */
  via: "local" | "oidc";
}

const KEY = "regenzet.session";
type Listener = () => void;

class Session {
  private current: Identity | null = null;
  private listeners = new Set<Listener>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Set when a session ended because its token expired (the sign-in page says so). */
  expiredNotice = false;

  constructor(private readonly storage: Storage | null) {
    const raw = storage?.getItem(KEY);
    if (raw) {
      try {
        const parsed = JSON.parse(raw) as Identity;
        if (parsed.expiresAt > Date.now()) this.set(parsed, false);
        else storage?.removeItem(KEY);
      } catch {
        storage?.removeItem(KEY);
      }
    }
  }

  identity(): Identity | null {
    return this.current;
  }

  token(): string | null {
    return this.current?.token ?? null;
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): Identity | null => this.current;

  set(identity: Identity, persist = true): void {
    this.current = identity;
    this.expiredNotice = false;
    if (persist) this.storage?.setItem(KEY, JSON.stringify(identity));
    clearTimeout(this.timer);
    const left = identity.expiresAt - Date.now();
    // setTimeout holds at most ~24.8 days; tokens here live hours.
    this.timer = setTimeout(() => this.expire(), Math.max(0, Math.min(left, 2 ** 31 - 1)));
    this.emit();
  }

  /** The token ran out (or the API refused it): back to sign-in, saying why. */
  expire(): void {
    this.clear();
    this.expiredNotice = true;
    this.emit();
  }

  signOut(): void {
    this.clear();
    this.emit();
  }

  private clear(): void {
    clearTimeout(this.timer);
    this.current = null;
    this.storage?.removeItem(KEY);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

function browserStorage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.sessionStorage;
  } catch {
    return null;
  }
}

export const session = new Session(browserStorage());
export { Session };
