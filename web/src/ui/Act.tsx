import { Button, Stack, type ButtonProps } from "@mantine/core";
import type { ReactNode } from "react";
import { useAction } from "./useAction";
import { ProblemAlert } from "./states";

/** A button that performs one write and shows the domain's refusal right under it. */
export function Act({
  run,
  children,
  success,
  ...props
}: { run: () => Promise<unknown>; children: ReactNode; success?: string } & ButtonProps) {
  const action = useAction(run, { success });
  return (
    <Stack gap={4}>
      <Button {...props} loading={action.isPending} onClick={() => action.mutate(undefined)}>
        {children}
      </Button>
      {action.error ? <ProblemAlert error={action.error} /> : null}
    </Stack>
  );
}
