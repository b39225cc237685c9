import { useMutation, useQueryClient } from "@tanstack/react-query";
import { notifications } from "@mantine/notifications";
import { ApiProblem, lastPosition } from "../api/client";

/**
 * A write from a button or form: runs once per click, shows the domain's refusal inline
 * (returned as `error`), and refreshes every cached read afterwards: the API client adds the
 * write's position as min_position to read-model reads, so they have caught up with it.
 */
export function useAction<TArgs, TResult>(
  run: (args: TArgs) => Promise<TResult>,
  { success }: { success?: string } = {},
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: async (result) => {
      const position = (result as { position?: number | null } | undefined)?.position;
      if (typeof position === "number") lastPosition.value = Math.max(lastPosition.value, position);
      if (success) notifications.show({ message: success, color: "green", closeButtonProps: { "aria-label": "Dismiss" } });
      await client.invalidateQueries();
    },
    onError: (error) => {
      if (!(error instanceof ApiProblem)) console.warn(error);
    },
  });
}

export { lastPosition };
