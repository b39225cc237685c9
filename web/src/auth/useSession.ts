import { useSyncExternalStore } from "react";
import { session, type Identity } from "./session";

export function useIdentity(): Identity | null {
  return useSyncExternalStore(session.subscribe, session.snapshot, session.snapshot);
}
