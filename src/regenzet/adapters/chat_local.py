"""The offline assistant: a deterministic ``ChatModel`` with no language model behind it.

It plays the model's part in the same loop, with the same tools and the same transcript
shape as Bedrock: it normalises the question, extracts slots (repair order id, plate, VIN),
matches an intent from an ordered rule table, asks the loop for the tools that intent needs
(one round at a time, only tools the loop offered) and answers from templates that cite the
records it read. Tool results are only ever read as data: text written by people is quoted,
never interpreted. An unknown question gets the list of what it can do; it never guesses.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from regenzet.application.chat import (
    Message,
    ModelEvent,
    ModelFinished,
    ModelRequest,
    TextDelta,
    ToolCall,
    ToolCallRequested,
)

# ---------------------------------------------------------------------------------------------
# Slots and intents
# ---------------------------------------------------------------------------------------------

_UUID = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE
)
_VIN = re.compile(r"\b[A-HJ-NPR-Z0-9]{17}\b")
# Plates as written on them: letters and digits in 2-4 groups joined by dashes (H-456-LF,
# NL-EV-101). At least one digit and one letter.
_PLATE = re.compile(r"\b[A-Z0-9]{1,4}(?:-[A-Z0-9]{1,4}){1,3}\b")
_WORD = re.compile(r"[a-z0-9]+")

_SYNONYMS = {
    "car": "vehicle",
    "cars": "vehicles",
    "ev": "vehicle",
    "estimate": "quote",
    "quotation": "quote",
    "soh": "battery",
    "health": "battery",
    "degradation": "battery",
    "kpi": "kpis",
    "jobs": "job",
}


@attrs.frozen
class Slots:
    repair_order_id: str | None = None
    plate: str | None = None
    vin: str | None = None
    topic: str | None = None  # what "why does the quote include X" asks about


@functools.lru_cache(maxsize=1024)
def extract_slots(text: str) -> Slots:
    order = _UUID.search(text)
    rest = _UUID.sub(" ", text)
    vin = _VIN.search(rest.upper())
    rest_upper = _VIN.sub(" ", rest.upper())
    plate = None
    for candidate in _PLATE.finditer(rest_upper):
        value = candidate.group(0)
        if re.search(r"\d", value) and re.search(r"[A-Z]", value) and len(value) <= 15:
            plate = value
            break
    topic = None
    found = re.search(
        r"\binclude[sd]?\s+(?:an?\s+|the\s+)?([a-z0-9 -]{2,40}?)[?.!]*$", text.lower()
    )
    if found:
        topic = found.group(1).strip()
    return Slots(
        repair_order_id=order.group(0).lower() if order else None,
        plate=plate,
        vin=vin.group(0) if vin else None,
        topic=topic,
    )


def normalise(text: str) -> list[str]:
    return [_SYNONYMS.get(w, w) for w in _WORD.findall(_UUID.sub(" ", text.casefold()))]


@attrs.frozen
class Intent:
    name: str
    phrases: tuple[str, ...]


# Ordered: the first intent with the best score wins, so more specific intents come first.
INTENTS = (
    Intent("explain_item", ("why quote include", "why include", "why need", "why is there")),
    Intent("waiting_parts", ("waiting for parts", "waiting parts", "parts")),
    Intent("inspection", ("inspection", "findings", "found", "measure", "measured", "check")),
    Intent("battery", ("battery", "range", "warranty")),
    Intent("approvals", ("approve", "approval", "quote", "decide", "waiting for me")),
    Intent("workload", ("workload", "my job", "assigned", "clocked", "my hours")),
    Intent("kpis", ("kpis", "approval rate", "revenue", "invoiced", "how are we doing")),
    Intent("board", ("board", "floor", "open orders", "in the workshop", "which vehicles")),
    Intent("my_vehicles", ("my vehicles", "which vehicles do i", "list my vehicle")),
    Intent("order_status", ("ready", "status", "done", "finished", "progress", "pick up", "order")),
)


def _phrase_hits(words: list[str], phrase: str) -> float:
    wanted = phrase.split()
    if len(wanted) == 1:
        if wanted[0] in words:
            return 1.0
        # A typo still counts ("battrey"), a little less than the exact word. Only words of
        # about the same length and first letter are compared (difflib is the slow part).
        if len(wanted[0]) <= 4:
            return 0.0
        near = [w for w in words if w[:1] == wanted[0][:1] and abs(len(w) - len(wanted[0])) <= 2]
        return 0.8 if difflib.get_close_matches(wanted[0], near, n=1, cutoff=0.85) else 0.0
    # Multi-word phrases match in order with gaps of at most two words.
    position = -1
    for word in wanted:
        try:
            found = words.index(word, position + 1)
        except ValueError:
            return 0.0
        if position >= 0 and found - position > 3:
            return 0.0
        position = found
    return float(len(wanted))


@functools.lru_cache(maxsize=1024)
def match_intent(text: str) -> str:
    words = normalise(text)
    best, best_score = "help", 0.0
    for intent in INTENTS:
        score = max((_phrase_hits(words, p) for p in intent.phrases), default=0.0)
        if score > best_score:
            best, best_score = intent.name, score
    return best


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class Step:
    """A past tool call of this turn with its result."""

    name: str
    arguments: dict[str, Any]
    ok: bool
    content: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        data = self.content.get("data")
        return data if isinstance(data, dict) else {}


Plan = list[ToolCall] | str

_CAPABILITIES = {
    "list_my_vehicles": "list your vehicles",
    "list_my_repair_orders": "tell you whether your car is ready and what awaits your approval",
    "get_repair_order": "give a repair order's status and quote lines",
    "get_inspection_findings": "summarise an inspection's findings and measurements",
    "get_battery_health": "show a battery's state-of-health trend and warranty risk",
    "get_workshop_board": "show the workshop board (for example cars waiting for parts)",
    "get_technician_workload": "show a technician's workload",
    "get_kpis": "report the garage's KPIs",
}


class LocalChatModel:
    """Deterministic intent matching over the loop's tools (the local default)."""

    name = "local"

    def respond(self, request: ModelRequest) -> Iterator[ModelEvent]:
        question, steps = _this_turn(request.messages)
        offered = {t.name for t in request.tools}
        plan = _Planner(offered, steps, extract_slots(question)).plan(match_intent(question))
        tokens_in = (
            sum(len(m.text) for m in request.messages) // 4
            + sum(
                len(json.dumps(r.content, default=str))
                for m in request.messages
                for r in m.tool_results
            )
            // 4
        )
        if isinstance(plan, str):
            for sentence in _sentences(plan):
                yield TextDelta(sentence)
            yield ModelFinished("end_turn", tokens_in, max(1, len(plan) // 4))
            return
        for index, call in enumerate(plan):
            yield ToolCallRequested(
                ToolCall(f"local-{len(steps) + index + 1}", call.name, call.arguments)
            )
        yield ModelFinished("tool_use", tokens_in, 8 * len(plan))


def _this_turn(messages: tuple[Message, ...]) -> tuple[str, list[Step]]:
    """The question of this turn and the tool calls made for it so far."""
    start = max(
        (i for i, m in enumerate(messages) if m.role == "user" and not m.tool_results),
        default=0,
    )
    calls: dict[str, ToolCall] = {}
    steps: list[Step] = []
    for message in messages[start + 1 :]:
        for call in message.tool_calls:
            calls[call.id] = call
        for result in message.tool_results:
            found = calls.get(result.call_id)
            if found is not None:
                call = found
                steps.append(
                    Step(call.name, call.arguments, result.status == "success", result.content)
                )
    return messages[start].text if messages else "", steps


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return [p + ("" if i == len(parts) - 1 else " ") for i, p in enumerate(parts) if p]


def _call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall("", name, {k: v for k, v in arguments.items() if v is not None})


def _money(amount: str, currency: str = "EUR") -> str:
    return f"{currency} {amount}"


def _status(value: str) -> str:
    return value.replace("_", " ")


class _Planner:
    """Decides the next tool calls, or the answer, from the intent and the results so far."""

    def __init__(self, offered: set[str], steps: list[Step], slots: Slots) -> None:
        self.offered = offered
        self.steps = steps
        self.slots = slots

    def plan(self, intent: str) -> Plan:
        handler: Callable[[], Plan] = getattr(self, f"_{intent}", self._help)
        failed = [s for s in self.steps if not s.ok]
        if failed:
            return self._failed(failed[-1])
        return handler()

    # -- helpers -----------------------------------------------------------------------------

    def _last(self, name: str) -> Step | None:
        for step in reversed(self.steps):
            if step.name == name:
                return step
        return None

    def _can(self, *names: str) -> bool:
        return all(n in self.offered for n in names)

    def _help(self) -> str:
        can = [_CAPABILITIES[n] for n in _CAPABILITIES if n in self.offered]
        if not can:
            return "I cannot look anything up for you."
        return (
            "I answer from the garage's records. I can "
            + "; ".join(can)
            + ". Mention a repair order id, a plate or a VIN to be specific."
        )

    def _cannot(self) -> str:
        return "I cannot look that up for you. " + self._help()

    def _failed(self, step: Step) -> str:
        error = str(step.content.get("error", "the look-up failed"))
        if "not found" in error:
            return f"I could not find that: {error}."
        return f"I could not look that up: {error}."

    def _order_ref(self) -> dict[str, str] | None:
        if self.slots.repair_order_id:
            return {"repair_order_id": self.slots.repair_order_id}
        if self.slots.plate:
            return {"plate": self.slots.plate}
        return None

    def _pick_order(self) -> Plan | dict[str, Any]:
        """The repair order this question is about: the one named, else the caller's most
        relevant one (open first). Returns the order's data, or the next calls."""
        done = self._last("get_repair_order")
        if done is not None:
            return done.data
        ref = self._order_ref()
        if ref is not None:
            return (
                [_call("get_repair_order", **ref)]
                if self._can("get_repair_order")
                else self._cannot()
            )
        mine = self._last("list_my_repair_orders")
        if mine is None:
            if self._can("list_my_repair_orders"):
                return [_call("list_my_repair_orders")]
            return "Which repair order? Give its id or the vehicle's plate."
        orders = mine.data.get("orders", [])
        if not orders:
            return "I found no repair orders for you."
        return [_call("get_repair_order", repair_order_id=orders[0]["repair_order_id"])]

    # -- intents -----------------------------------------------------------------------------

    def _order_status(self) -> Plan:
        order = self._pick_order()
        if not isinstance(order, dict):
            return order
        oid = order["repair_order_id"]
        status = order["status"]
        lines = [f"Repair order {oid} is {_status(status)}."]
        if status == "ready_for_pickup":
            lines.append("Your car is ready to be picked up.")
        if order.get("promised_at") and status not in {"closed", "cancelled", "ready_for_pickup"}:
            lines.append(f"It is promised for {order['promised_at'][:16].replace('T', ' ')} UTC.")
        jobs = order.get("jobs", [])
        if jobs:
            lines.append(
                "Jobs: " + "; ".join(f"{j['title']} ({_status(j['status'])})" for j in jobs) + "."
            )
        if order.get("awaiting_approval"):
            lines.append(
                f"{len(order['awaiting_approval'])} job(s) await approval: "
                f"open /portal/repair-orders/{oid} to approve or decline."
            )
        if order.get("invoice_number"):
            currency = order["currency"]
            lines.append(
                f"Invoice {order['invoice_number']}: total {_money(order['total'], currency)}, "
                f"balance {_money(order['balance'], currency)}."
            )
        lines.append(f"Source: repair order {oid}.")
        return " ".join(lines)

    def _approvals(self) -> Plan:
        if self._order_ref() is not None:
            return self._explain_order_quote()
        if self._can("list_my_repair_orders"):
            mine = self._last("list_my_repair_orders")
            if mine is None:
                return [_call("list_my_repair_orders")]
            waiting = [o for o in mine.data.get("orders", []) if o["awaiting_approval"]]
            if not waiting:
                return "Nothing awaits your approval right now. Source: your repair orders."
            parts = []
            for o in waiting:
                jobs = ", ".join(
                    f"{j['title']} ({_money(j['amount'])})" for j in o["awaiting_approval"]
                )
                parts.append(
                    f"Repair order {o['repair_order_id']} ({o.get('plate') or 'your vehicle'}): "
                    f"{jobs}. Approve or decline at /portal/repair-orders/{o['repair_order_id']}."
                )
            return (
                " ".join(parts)
                + " Source: "
                + ", ".join(f"repair order {o['repair_order_id']}" for o in waiting)
                + "."
            )
        return self._board_answer("awaiting_approval")

    def _explain_order_quote(self) -> Plan:
        order = self._pick_order()
        if not isinstance(order, dict):
            return order
        oid = order["repair_order_id"]
        quoted = [j for j in order.get("jobs", []) if j["status"] == "quoted"]
        if not quoted:
            return f"Repair order {oid} has no jobs awaiting approval. Source: repair order {oid}."
        jobs = "; ".join(f"{j['title']} ({_money(j['amount'], order['currency'])})" for j in quoted)
        return (
            f"Repair order {oid} has {len(quoted)} job(s) awaiting approval: {jobs}. "
            f"Approve or decline each at /portal/repair-orders/{oid}. Source: repair order {oid}."
        )

    def _explain_item(self) -> Plan:
        order = self._pick_order()
        if not isinstance(order, dict):
            return order
        oid = order["repair_order_id"]
        topic = (self.slots.topic or "").lower()
        jobs = order.get("jobs", [])
        titles = [j["title"].lower() for j in jobs]
        close = difflib.get_close_matches(topic, titles, n=1, cutoff=0.4) if topic else []
        job = next((j for j in jobs if close and j["title"].lower() == close[0]), None)
        if job is None:
            job = next(
                (j for j in jobs if topic and any(w in j["title"].lower() for w in topic.split())),
                None,
            )
        if job is None:
            return (
                f"I found no job like '{topic or 'that'}' on repair order {oid}. Its jobs are: "
                + "; ".join(j["title"] for j in jobs)
                + f". Source: repair order {oid}."
            )
        inspections = order.get("inspection_ids") or []
        findings = self._last("get_inspection_findings")
        if findings is None and inspections and self._can("get_inspection_findings"):
            return [_call("get_inspection_findings", repair_order_id=oid)]
        parts = [f"{p.get('description', p.get('part_number', 'part'))}" for p in job["parts"]]
        hours = sum(float(line.get("hours", 0)) for line in job["labour"])
        text = (
            f"The quote on repair order {oid} includes {job['title']} "
            f"({_money(job['amount'], order['currency'])}, {_status(job['status'])})"
        )
        if hours:
            text += f": {hours:g} h labour"
        if parts:
            text += f" and parts: {', '.join(parts)}"
        text += "."
        sources = [f"repair order {oid}"]
        if findings is not None and findings.ok:
            recommended = findings.data.get("recommended_jobs", [])
            reasons = findings.content.get("untrusted_text", {})
            words = [w for w in job["title"].lower().split() if len(w) > 3]
            for index, r in enumerate(recommended):
                if any(w in str(r.get("title", "")).lower() for w in words):
                    reason = reasons.get(f"reason_{index + 1}") or r.get("title")
                    text += f' The inspection recommended it ("{reason}").'
                    break
            sources.append(f"inspection {findings.data['inspection_id']}")
        return f"{text} Source: {', '.join(sources)}."

    def _inspection(self) -> Plan:
        findings = self._last("get_inspection_findings")
        if findings is None:
            if not self._can("get_inspection_findings"):
                return self._cannot()
            if self.slots.repair_order_id:
                return [
                    _call("get_inspection_findings", repair_order_id=self.slots.repair_order_id)
                ]
            order = self._pick_order()
            if not isinstance(order, dict):
                return order
            return [_call("get_inspection_findings", repair_order_id=order["repair_order_id"])]
        data = findings.data
        iid = data["inspection_id"]
        untrusted = findings.content.get("untrusted_text", {})
        lines = [f"Inspection {iid} ({_status(data['status'])})."]
        items = data.get("findings", [])
        if items:
            described = []
            for f in items:
                note = untrusted.get(f"note_{f['item']}")
                described.append(
                    f"{f['item']} {f['rating']}" + (f' (note: "{note}")' if note else "")
                )
            lines.append("Findings: " + "; ".join(described) + ".")
        else:
            lines.append("No red or amber findings.")
        measurements = data.get("measurements", [])
        if measurements:
            shown = []
            for m in measurements[-6:]:
                verdict = {True: "pass", False: "fail"}.get(m.get("passed"))
                text = f"{_status(str(m.get('kind')))} {m.get('value')} {m.get('unit') or ''}"
                shown.append(text.strip() + (f" ({verdict})" if verdict else ""))
            lines.append("Measured: " + "; ".join(shown) + ".")
        lines.append(f"Source: inspection {iid}.")
        return " ".join(lines)

    def _battery(self) -> Plan:
        if not self._can("get_battery_health"):
            return self._cannot()
        done = [s for s in self.steps if s.name == "get_battery_health"]
        if not done:
            ref = (
                {"vin": self.slots.vin}
                if self.slots.vin
                else {"plate": self.slots.plate}
                if self.slots.plate
                else None
            )
            if ref is not None:
                return [_call("get_battery_health", **ref)]
            mine = self._last("list_my_vehicles")
            if mine is None:
                if self._can("list_my_vehicles"):
                    return [_call("list_my_vehicles")]
                return "Which vehicle? Give its plate or VIN."
            vehicles = mine.data.get("vehicles", [])[:3]
            if not vehicles:
                return "I found no vehicles for you."
            return [_call("get_battery_health", vehicle_id=v["vehicle_id"]) for v in vehicles]
        lines = []
        for step in done:
            d = step.data
            name = f"{d['make']} {d['model']} {d['plate']}"
            trend = d.get("soh_trend") or []
            if not trend:
                lines.append(f"{name}: no state-of-health measurement yet.")
            else:
                values = ", ".join(f"{t['soh_pct']} %" for t in trend[-4:])
                lines.append(
                    f"{name}: battery state of health {d['latest_soh_pct']} % (trend {values})."
                )
            if d.get("under_warranty"):
                risk = (
                    "at risk of falling below the warranty threshold"
                    if d.get("warranty_risk")
                    else "not at risk"
                )
                lines.append(f"It is under battery warranty and {risk}.")
            elif d.get("warranty_risk"):
                lines.append("Its state of health is at risk.")
        sources = ", ".join(f"vehicle {s.data['vehicle_id']}" for s in done)
        return " ".join(lines) + f" Source: {sources}."

    def _board_answer(self, status: str | None) -> Plan:
        if not self._can("get_workshop_board"):
            return self._cannot()
        board = self._last("get_workshop_board")
        if board is None:
            return [_call("get_workshop_board", status=status, plate=self.slots.plate)]
        orders = board.data.get("orders", [])
        label = f"in status {_status(status)}" if status else "open on the board"
        if not orders:
            return f"No repair orders are {label}. Source: the workshop board."
        listed = "; ".join(
            f"{o.get('plate')} {o.get('make')} {o.get('model')} for {o.get('customer_name')} "
            f"({_status(o['status'])}, order {o['id']})"
            for o in orders
        )
        more = " There are more on the board (/app/board)." if board.data.get("more") else ""
        return f"{len(orders)} repair order(s) {label}: {listed}.{more} Source: the workshop board."

    def _waiting_parts(self) -> Plan:
        if self._can("list_my_repair_orders") and not self._can("get_workshop_board"):
            return self._order_status()
        return self._board_answer("waiting_for_parts")

    def _board(self) -> Plan:
        return self._board_answer(None)

    def _my_vehicles(self) -> Plan:
        if not self._can("list_my_vehicles"):
            return self._cannot()
        mine = self._last("list_my_vehicles")
        if mine is None:
            return [_call("list_my_vehicles")]
        vehicles = mine.data.get("vehicles", [])
        if not vehicles:
            return "I found no vehicles for you."
        listed = "; ".join(
            f"{v['plate']}: {v['make']} {v['model']} ({v['year']}, {v['odometer_km']} km)"
            for v in vehicles
        )
        return (
            f"Your vehicles: {listed}. Source: "
            + ", ".join(f"vehicle {v['vehicle_id']}" for v in vehicles)
            + "."
        )

    def _workload(self) -> Plan:
        if not self._can("get_technician_workload"):
            return self._cannot()
        step = self._last("get_technician_workload")
        if step is None:
            return [_call("get_technician_workload")]
        d = step.data
        jobs = d.get("assigned_jobs") or []
        listed = "; ".join(
            f"{j['title']} on order {j['repair_order_id']} ({_status(j['status'])})" for j in jobs
        )
        text = f"{d.get('name') or 'The technician'} has {len(jobs)} assigned job(s)"
        text += f": {listed}." if jobs else "."
        if d.get("clocked_on"):
            text += f" Clocked on job {d['clocked_on'].get('job_id')}."
        text += f" Hours clocked: {d.get('clocked_hours_total')}. Source: staff {d['staff_id']}."
        return text

    def _kpis(self) -> Plan:
        if not self._can("get_kpis"):
            return self._cannot()
        step = self._last("get_kpis")
        if step is None:
            return [_call("get_kpis", period="week", days=30)]
        rows = step.data.get("rows", [])
        if not rows:
            return "No KPI data for the last 30 days yet. Source: the KPI read model."
        opened = sum(int(r.get("orders_opened", 0)) for r in rows)
        invoiced = sum(float(r.get("invoiced_total", 0)) for r in rows)
        quoted = sum(int(r.get("jobs_quoted", 0)) for r in rows)
        approved = sum(int(r.get("jobs_approved", 0)) for r in rows)
        rate = f"{100 * approved / quoted:.0f} %" if quoted else "n/a"
        return (
            f"From {step.data['from']} to {step.data['to']}: {opened} repair order(s) opened, "
            f"{approved} of {quoted} quoted job(s) approved ({rate}), "
            f"{invoiced:.2f} invoiced. Details at /app/kpis. Source: the KPI read model."
        )
