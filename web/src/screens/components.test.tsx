import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderUi } from "../test/render";
import { ApiProblem } from "../api/client";
import { ProblemAlert } from "../ui/states";
import { HvWizard } from "./HvWizard";
import { BoardCard } from "./Board";
import type { BoardItem } from "../api/readModels";

vi.mock("../router", () => ({ router: { navigate: vi.fn() } }));

describe("ProblemAlert", () => {
  it("shows the domain's rule for a 409", () => {
    const error = new ApiProblem(409, { detail: "job 'balance' needs HV level 3, technician has 1", rule: "hv_level", current_state: "in_progress" });
    renderUi(<ProblemAlert error={error} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Refused by a business rule");
    expect(screen.getByRole("alert")).toHaveTextContent("needs HV level 3, technician has 1");
    expect(screen.getByRole("alert")).toHaveTextContent("Rule: hv_level");
  });
  it("asks to try again on a 503", () => {
    renderUi(<ProblemAlert error={new ApiProblem(503, {})} onRetry={() => {}} />);
    expect(screen.getByRole("alert")).toHaveTextContent("try again");
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});

describe("HvWizard", () => {
  it("cannot record the isolation until PPE, lock/tag and a safe voltage are given", async () => {
    const user = userEvent.setup();
    renderUi(<HvWizard orderId="o-1" />);
    const next = screen.getByRole("button", { name: "Next" });
    expect(next).toBeDisabled();
    await user.click(screen.getByLabelText(/insulating gloves/));
    await user.click(next);
    expect(screen.getByRole("button", { name: "Next" })).toBeDisabled();
    await user.type(screen.getByLabelText("Lock/tag id"), "LOTO-1");
    await user.click(screen.getByRole("button", { name: "Next" }));
    await user.type(screen.getByLabelText("Residual voltage (V)"), "120");
    expect(screen.getByText(/not safe to work on/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Record isolation" })).toBeDisabled();
    await user.clear(screen.getByLabelText("Residual voltage (V)"));
    await user.type(screen.getByLabelText("Residual voltage (V)"), "2.5");
    expect(screen.getByRole("button", { name: "Record isolation" })).toBeEnabled();
  });
});

describe("BoardCard", () => {
  const item: BoardItem = {
    id: "o-1", status: "in_progress", plate: "K-789-ID", make: "Volkswagen", model: "ID.4", vin: "WVGZZZE2ZMP000001",
    customer_id: "c", customer_name: "Amira Haddad", vehicle_id: "v", promised_at: "2020-01-01T10:00:00Z",
    opened_at: "2019-12-31T10:00:00Z", open: true, hv_isolated: true, jobs: 2, quoted_total: "100", approved_total: "100",
    invoiced_total: null, balance: null, technicians: ["t-1"], clocked_on: ["t-1"], version: 3,
  };
  it("shows plate, model, customer, a red late promise, chips and the technician", () => {
    renderUi(<BoardCard item={item} technicianName={() => "Noor El Amrani"} />);
    expect(screen.getByRole("link", { name: "K-789-ID" })).toHaveAttribute("href", "/repair-orders/o-1");
    expect(screen.getByText("Volkswagen ID.4")).toBeInTheDocument();
    expect(screen.getByText(/Late · promised/)).toHaveClass("late");
    expect(screen.getByText("HV isolated")).toBeInTheDocument();
    expect(screen.getByText("Approved")).toBeInTheDocument();
    expect(screen.getByText("Clocked on")).toBeInTheDocument();
    expect(screen.getByText("Tech: Noor El Amrani")).toBeInTheDocument();
  });
});

describe("BoardColumn", () => {
  it("counts every order but puts only the cards in view in the DOM", async () => {
    const { BoardColumn } = await import("./Board");
    const cards = Array.from({ length: 300 }, (_, n) => ({
      id: `o-${n}`,
      plate: `B-${String(n).padStart(4, "0")}`,
      status: "open",
      make: "Kia",
      model: "EV6",
      customer_name: "Fleet",
      promised_at: null,
      technicians: [],
      clocked_on: [],
      hv_isolated: false,
    })) as unknown as BoardItem[];
    // jsdom has no layout: give the column a 600 px window.
    const height = vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockReturnValue(600);
    const width = vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(240);
    renderUi(<BoardColumn status="open" cards={cards} technicianName={(id) => id} />);
    expect(screen.getByLabelText("300 orders")).toHaveTextContent("300");
    const rendered = (await screen.findAllByTestId("board-card")).length;
    height.mockRestore();
    width.mockRestore();
    expect(rendered).toBeGreaterThan(0);
    // jsdom measures every card as 0 px high (gap only), so more fit than in a browser.
    expect(rendered).toBeLessThan(150);
    expect(screen.getByText("B-0000")).toBeInTheDocument();
  });
});
