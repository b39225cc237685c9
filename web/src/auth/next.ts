/** Where a signed-out visitor was going (a deep link), to continue there after signing in. */
const KEY = "regenzet.next";

export function rememberNext(href: string): void {
  if (href.startsWith("/") && !href.startsWith("//") && !href.startsWith("/sign-in")) {
    window.sessionStorage.setItem(KEY, href);
  }
}

export function takeNext(): string | null {
  const next = window.sessionStorage.getItem(KEY);
  window.sessionStorage.removeItem(KEY);
  return next && next.startsWith("/") && !next.startsWith("//") ? next : null;
}
