import { Alert, Button, Center, Group, Loader, Stack, Text } from "@mantine/core";
import type { ReactNode } from "react";
import { ApiProblem } from "../api/client";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <Center py="xl" role="status" aria-live="polite">
      <Group gap="sm">
        <Loader size="sm" aria-hidden />
        <Text c="dimmed">{label}</Text>
      </Group>
    </Center>
  );
}

/** Shows why something failed: the domain's rule for a 409, "try again" for a 503. */
export function ProblemAlert({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const problem = error instanceof ApiProblem ? error : null;
  const title =
    problem?.status === 409
      ? "Refused by a business rule"
      : problem?.status === 503 || problem?.status === 0
        ? "Temporarily unavailable"
        : problem?.status === 404
          ? "Not found"
          : "Something went wrong";
  const message = problem ? problem.userMessage : String((error as Error)?.message ?? error);
  return (
    <Alert color={problem?.status === 409 ? "orange" : "red"} title={title} role="alert">
      <Stack gap="xs">
        <Text size="sm">{message}</Text>
        {problem?.problem.rule && (
          <Text size="xs" c="dimmed">
            Rule: {problem.problem.rule}
            {problem.problem.current_state ? ` · current state: ${problem.problem.current_state}` : ""}
          </Text>
        )}
        {onRetry && (problem === null || [0, 429, 503].includes(problem.status)) && (
          <Group>
            <Button size="xs" variant="light" onClick={onRetry}>
              Try again
            </Button>
          </Group>
        )}
      </Stack>
    </Alert>
  );
}

export function QueryState({
  isPending,
  error,
  refetch,
  children,
}: {
  isPending: boolean;
  error: unknown;
  refetch: () => void;
  children: () => ReactNode;
}) {
  if (error) return <ProblemAlert error={error} onRetry={refetch} />;
  if (isPending) return <Loading />;
  return <>{children()}</>;
}
