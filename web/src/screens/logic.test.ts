import { describe, expect, it } from "vitest";
import { approvedTotals, everyJobDecided } from "../portal/quoteChoice";
import { isLate } from "./Board";
import { residualVoltageProblem } from "./HvWizard";
import { missingRequired } from "./Inspection";
import { isolationPasses, ohmPerVolt } from "./isolation";
import { readVin } from "./vin";
import { Session } from "../auth/session";

describe("isolation resistance per volt", () => {
  it("matches the domain's truncated figure and limits", () => {
    // 12.5 MΩ on a 350 V pack (the demo Model 3) is 35714.28 Ω/V, as the server records it.
    expect(ohmPerVolt("12.5", "350")).toBe(35714.28);
    expect(ohmPerVolt("0.035", "350")).toBe(100);
    expect(isolationPasses(100, "dc")).toBe(true);
    expect(isolationPasses(99.99, "dc")).toBe(false);
    expect(isolationPasses(499, "ac")).toBe(false);
    expect(ohmPerVolt("", "350")).toBeNull();
    expect(ohmPerVolt("abc", "350")).toBeNull();
  });
});

describe("the VIN as it is typed", () => {
  it("reads region, model year and the check digit", () => {
    const tesla = readVin("5YJ3E1EA2KF317000", new Date("2026-12-01"));
    expect(tesla).toMatchObject({ complete: true, region: "North America", modelYear: 2019 });
    const vw = readVin("wvw zzz e1z mp012345", new Date("2026-12-01"));
    expect(vw).toMatchObject({ vin: "WVWZZZE1ZMP012345", complete: true, region: "Europe", modelYear: 2021 });
  });

  it("refuses letters a VIN never has and too many characters", () => {
    expect(readVin("WVWZZZE1ZMP01234O").problem).toContain('"O"');
    expect(readVin("WVWZZZE1ZMP0123456").problem).toBe("A VIN has 17 characters");
    expect(readVin("WVWZZ").complete).toBe(false);
  });
});

describe("the approval page's running total", () => {
  const jobs = [
    { job_id: "a", title: "A", amount: "285.00", status: "quoted" },
    { job_id: "b", title: "B", amount: "352.00", status: "quoted" },
  ];
  it("adds only approved jobs and tax in whole cents", () => {
    expect(approvedTotals(jobs, {}, 0.21)).toEqual({ subtotal: 0, tax: 0, total: 0 });
    expect(approvedTotals(jobs, { a: "approve", b: "decline" }, 0.21)).toEqual({ subtotal: 285, tax: 59.85, total: 344.85 });
    expect(approvedTotals(jobs, { a: "approve", b: "approve" }, 0.21).total).toBe(770.77);
  });
  it("needs a decision on every quoted job", () => {
    expect(everyJobDecided(jobs, { a: "approve" })).toBe(false);
    expect(everyJobDecided(jobs, { a: "approve", b: "decline" })).toBe(true);
  });
});

describe("board and wizard rules", () => {
  it("an order is late after its promised time unless it is ready", () => {
    const now = Date.parse("2026-12-01T12:00:00Z");
    expect(isLate({ promised_at: "2026-12-01T11:00:00Z", status: "in_progress" }, now)).toBe(true);
    expect(isLate({ promised_at: "2026-12-01T11:00:00Z", status: "ready_for_pickup" }, now)).toBe(false);
    expect(isLate({ promised_at: "2026-12-01T13:00:00Z", status: "in_progress" }, now)).toBe(false);
    expect(isLate({ promised_at: null, status: "open" }, now)).toBe(false);
  });
  it("residual voltage must be measured and safe", () => {
    expect(residualVoltageProblem("")).toMatch(/Enter/);
    expect(residualVoltageProblem("75")).toMatch(/not safe/);
    expect(residualVoltageProblem("-1")).toMatch(/0 or more/);
    expect(residualVoltageProblem("3,2")).toBeNull();
  });
  it("complete needs every required item rated", () => {
    const items = [
      { code: "a", title: "A", required: true },
      { code: "b", title: "B", required: false },
    ];
    expect(missingRequired(items, {}).map((i) => i.code)).toEqual(["a"]);
    expect(missingRequired(items, { a: { rating: "green" } })).toEqual([]);
  });
});

describe("the session", () => {
  it("keeps the token in session storage and ends it when it expires", () => {
    vi.useFakeTimers();
    const storage = window.sessionStorage;
    storage.clear();
    const session = new Session(storage);
    const identity = {
      token: "t",
      expiresAt: Date.now() + 1000,
      role: "advisor" as const,
      subject: "s",
      displayName: "Eva",
      customerId: null,
      staffId: null,
      via: "local" as const,
    };
    session.set(identity);
    expect(new Session(storage).identity()?.token).toBe("t");
    vi.advanceTimersByTime(1001);
    expect(session.identity()).toBeNull();
    expect(session.expiredNotice).toBe(true);
    expect(storage.getItem("regenzet.session")).toBeNull();
    vi.useRealTimers();
  });
  it("does not restore an expired session", () => {
    window.sessionStorage.setItem("regenzet.session", JSON.stringify({ token: "old", expiresAt: Date.now() - 1 }));
    expect(new Session(window.sessionStorage).identity()).toBeNull();
  });
});
