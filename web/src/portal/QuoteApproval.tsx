import { Alert, Badge, Button, Card, Container, Group, SegmentedControl, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useSearch } from "@tanstack/react-router";
import { useState } from "react";
import { ApiProblem, api, idempotencyKey, unwrap } from "../api/client";
import { dateTime, money } from "../ui/format";
import { Loading, ProblemAlert } from "../ui/states";
import { approvedTotals, everyJobDecided, type Choice, type QuoteApproval } from "./quoteChoice";

/**
 * The approval page the quote email links to (phone-first). The link's token is the only
 * credential (`X-Approval-Token`); no sign-in. Per job: approve or decline, with the findings
 * beside it; the total follows the choices; a typed name signs; afterwards it is read-only.
 */
export default function QuoteApprovalPage() {
  const { token } = useSearch({ from: "/portal/repair-orders/$orderId/quote" });
  const quote = useQuery({
    queryKey: ["quote-approval", token],
    queryFn: async () =>
      (await unwrap(
        api.GET("/api/v1/quote-approval", { params: { header: { "X-Approval-Token": token ?? "" } } }),
      )) as unknown as QuoteApproval,
    enabled: !!token,
    retry: false,
  });
  const expired =
    !token ||
    (quote.error instanceof ApiProblem && [401, 403, 410].includes(quote.error.status)) ||
    (quote.data && Date.parse(quote.data.expires_at) < Date.now());
  return (
    <Container size="xs" py="md">
      <main>
        <Stack>
          <Title order={1} size="h3">
            Your quote
          </Title>
          {expired ? (
            <Alert color="yellow" title="This link has expired" data-testid="expired-link">
              Approval links are valid for 7 days. Please call the garage, or sign in to the portal to see your quote.
            </Alert>
          ) : quote.error ? (
            <ProblemAlert error={quote.error} onRetry={() => void quote.refetch()} />
          ) : !quote.data ? (
            <Loading />
          ) : (
            <Approval quote={quote.data} token={token!} onSubmitted={() => void quote.refetch()} />
          )}
        </Stack>
      </main>
    </Container>
  );
}

function Approval({ quote, token, onSubmitted }: { quote: QuoteApproval; token: string; onSubmitted: () => void }) {
  const [choices, setChoices] = useState<Record<string, Choice | undefined>>({});
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const [signature, setSignature] = useState("");
  const open = quote.jobs.filter((j) => j.status === "quoted");
  const readOnly = open.length === 0;
  const taxRate = Number(quote.tax_rate);
  const totals = approvedTotals(quote.jobs, choices, taxRate);
  const submit = useMutation({
    mutationFn: async () => {
      for (const job of open) {
        const params = {
          path: { job_id: job.job_id },
          header: { "X-Approval-Token": token, "Idempotency-Key": idempotencyKey() },
        };
        if (choices[job.job_id] === "approve") {
          await unwrap(api.POST("/api/v1/quote-approval/jobs/{job_id}/approve", { params, body: {} }));
        } else {
          const reason = (reasons[job.job_id] ?? "").trim() || null;
          await unwrap(api.POST("/api/v1/quote-approval/jobs/{job_id}/decline", { params, body: { reason } }));
        }
      }
    },
    onSuccess: onSubmitted,
  });
  const findings = quote.inspections.flatMap((i) => i.findings);
  return (
    <Stack>
      <Text size="sm" c="dimmed">
        Link valid until {dateTime(quote.expires_at)}
      </Text>
      {submit.isSuccess || readOnly ? (
        <Alert color="green" title="Thank you, your answer is recorded" data-testid="approval-confirmation">
          The garage has your decision. This page is now read-only; call us to change anything.
        </Alert>
      ) : null}
      {findings.length > 0 && (
        <Card withBorder data-testid="shared-findings">
          <Stack gap={4}>
            <Text fw={600}>What the inspection found</Text>
            {findings.map((f) => (
              <Text key={f.item_code} size="sm">
                <Badge size="xs" color={f.rating === "red" ? "red" : "yellow"} mr={4}>
                  {f.rating}
                </Badge>
                {f.item_code.replaceAll("_", " ")}
                {f.note ? `: ${f.note}` : ""}
              </Text>
            ))}
          </Stack>
        </Card>
      )}
      {quote.jobs.map((job) => (
        <Card key={job.job_id} withBorder data-testid={`quote-job-${job.job_id}`}>
          <Stack gap="xs">
            <Group justify="space-between" wrap="nowrap">
              <Text fw={600}>{job.title}</Text>
              <Text fw={600}>{money(job.amount, quote.currency)}</Text>
            </Group>
            {job.status === "quoted" && !submit.isSuccess ? (
              <>
                <SegmentedControl
                  fullWidth
                  aria-label={`Decision for ${job.title}`}
                  value={choices[job.job_id] ?? ""}
                  onChange={(v) => setChoices({ ...choices, [job.job_id]: v as Choice })}
                  data={[
                    { value: "approve", label: "Approve" },
                    { value: "decline", label: "Decline" },
                  ]}
                />
                {choices[job.job_id] === "decline" && (
                  <TextInput
                    label="Reason (optional)"
                    value={reasons[job.job_id] ?? ""}
                    onChange={(e) => setReasons({ ...reasons, [job.job_id]: e.currentTarget.value })}
                  />
                )}
              </>
            ) : (
              <Badge color={job.status === "approved" ? "green" : "gray"}>{job.status}</Badge>
            )}
          </Stack>
        </Card>
      ))}
      <Card withBorder>
        <Group justify="space-between">
          <Text>Approved work</Text>
          <Text>{money(totals.subtotal, quote.currency)}</Text>
        </Group>
        <Group justify="space-between">
          <Text>Tax</Text>
          <Text>{money(totals.tax, quote.currency)}</Text>
        </Group>
        <Group justify="space-between">
          <Text fw={700}>Total</Text>
          <Text fw={700} data-testid="approval-total">
            {money(totals.total, quote.currency)}
          </Text>
        </Group>
      </Card>
      {!readOnly && !submit.isSuccess && (
        <Stack>
          <TextInput
            label="Type your full name to sign"
            required
            value={signature}
            onChange={(e) => setSignature(e.currentTarget.value)}
          />
          {submit.error ? <ProblemAlert error={submit.error} /> : null}
          <Button size="lg" disabled={!everyJobDecided(quote.jobs, choices) || signature.trim().length < 2} loading={submit.isPending} onClick={() => submit.mutate()}>
            Send my decision
          </Button>
        </Stack>
      )}
    </Stack>
  );
}
