import { Alert, Button, Group, Stack, Text, Textarea, Title } from "@mantine/core";
import { useEffect, useRef, useState, type FormEvent } from "react";
import type { Role } from "../auth/session";
import { router } from "../router";
import { ask, chatErrorMessage, type ChatMessage, type ChatTool } from "./chat";
import { citations, type Citation } from "./citations";

interface Entry {
  role: "user" | "assistant";
  text: string;
  citations?: Citation[];
  notice?: string | null;
  streaming?: boolean;
}

const SUGGESTIONS: Record<"customer" | "staff", string[]> = {
  customer: ["Is my car ready?", "What is waiting for my approval?", "How is my battery doing?"],
  staff: ["What is on the board?", "Which cars are waiting for parts?"],
};

function CitationLink({ citation }: { citation: Citation }) {
  if (!citation.href) return <span className="chip chip-gray">{citation.label}</span>;
  const href = citation.href;
  return (
    <a
      href={href}
      className="chat-citation"
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        void router.navigate({ to: href });
      }}
    >
      {citation.label}
    </a>
  );
}

/**
 * The assistant, as the signed-in person (POST /api/v1/chat): the answer appears as it
 * streams, the records it used are links to their screens, and a 429 or 503 says when to try
 * again. The answer is plain text rendered by React (escaped), never HTML.
 */
export function ChatPanel({ role, onClose }: { role: Role; onClose?: () => void }) {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [question, setQuestion] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);

  const send = async (text: string) => {
    const message = text.trim();
    if (!message || busy) return;
    const history: ChatMessage[] = entries
      .filter((e) => !e.streaming && e.text)
      .map((e) => ({ role: e.role, text: e.text.slice(0, 2000) }));
    setError(null);
    setBusy(true);
    setQuestion("");
    setEntries((list) => [...list, { role: "user", text: message }, { role: "assistant", text: "", streaming: true }]);
    const update = (change: (last: Entry) => Entry) =>
      setEntries((list) => [...list.slice(0, -1), change(list[list.length - 1] as Entry)]);
    const tools: ChatTool[] = [];
    abort.current = new AbortController();
    try {
      const answer = await ask(
        message,
        history,
        {
          onDelta: (delta) => update((last) => ({ ...last, text: last.text + delta })),
          onTool: (tool) => tools.push(tool),
        },
        { signal: abort.current.signal },
      );
      update(() => ({
        role: "assistant",
        text: answer.answer,
        notice: answer.notice,
        citations: citations(answer.records, answer.tools.length ? answer.tools : tools, role),
      }));
    } catch (cause) {
      if ((cause as Error)?.name === "AbortError") return;
      // Keep what streamed before a failure; drop an empty answer bubble.
      setEntries((list) => {
        const last = list[list.length - 1];
        return last && !last.text ? list.slice(0, -1) : [...list.slice(0, -1), { ...(last as Entry), streaming: false }];
      });
      setError(chatErrorMessage(cause));
    } finally {
      setBusy(false);
    }
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void send(question);
  };

  return (
    <section className="chat-panel" aria-label="Assistant">
      <Group justify="space-between" wrap="nowrap">
        <Title order={2} size="h5">
          Ask the assistant
        </Title>
        {onClose ? (
          <Button size="xs" variant="subtle" onClick={onClose}>
            Close
          </Button>
        ) : null}
      </Group>
      <Text size="xs" c="dimmed">
        Answers come from the garage&apos;s records you may see. It cannot change anything.
      </Text>
      <div className="chat-log" role="log" aria-live="polite" aria-label="Conversation" data-testid="chat-log">
        {entries.length === 0 ? (
          <Stack gap={4}>
            {SUGGESTIONS[role === "customer" ? "customer" : "staff"].map((s) => (
              <Button key={s} size="xs" variant="light" onClick={() => void send(s)} disabled={busy}>
                {s}
              </Button>
            ))}
          </Stack>
        ) : null}
        {entries.map((entry, index) => (
          <div
            key={index}
            className={`chat-msg chat-${entry.role}`}
            data-testid={entry.role === "assistant" ? "chat-answer" : "chat-question"}
            aria-busy={entry.streaming ? true : undefined}
          >
            <Text size="sm" className="chat-text">
              {entry.text || (entry.streaming ? "…" : "")}
            </Text>
            {entry.notice ? (
              <Text size="xs" c="dimmed">
                {entry.notice}
              </Text>
            ) : null}
            {entry.citations && entry.citations.length > 0 ? (
              <div className="chat-citations" aria-label="Records cited">
                <Text size="xs" c="dimmed" component="span">
                  Sources:{" "}
                </Text>
                {entry.citations.map((c) => (
                  <CitationLink key={c.id} citation={c} />
                ))}
              </div>
            ) : null}
          </div>
        ))}
      </div>
      {error ? (
        <Alert color="red" title="No answer" role="alert">
          <Text size="sm">{error}</Text>
        </Alert>
      ) : null}
      <form onSubmit={onSubmit}>
        <Stack gap="xs">
          <Textarea
            label="Your question"
            value={question}
            maxLength={2000}
            minRows={2}
            onChange={(e) => setQuestion(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) {
                e.preventDefault();
                void send(question);
              }
            }}
          />
          <Group justify="flex-end">
            <Button type="submit" size="xs" loading={busy} disabled={!question.trim()}>
              Ask
            </Button>
          </Group>
        </Stack>
      </form>
    </section>
  );
}
