import { Alert, Button, Checkbox, Stack, Stepper, Text, TextInput } from "@mantine/core";
import { useState } from "react";
import { api, idempotencyKey, unwrap } from "../api/client";
import { useAction } from "../ui/useAction";
import { ProblemAlert } from "../ui/states";

/** Residual voltage must be at or below this before HV work (the usual 60 V DC touch limit). */
export const SAFE_RESIDUAL_V = 60;

export function residualVoltageProblem(value: string): string | null {
  if (value.trim() === "") return "Enter the residual voltage you measured";
  const v = Number(value.replace(",", "."));
  if (!Number.isFinite(v) || v < 0) return "Must be a voltage of 0 or more";
  if (v > SAFE_RESIDUAL_V) return `Above ${SAFE_RESIDUAL_V} V: the system is not safe to work on`;
  return null;
}

/**
 * The HV isolation wizard: PPE, lock and tag, residual voltage, then the isolation is recorded.
 * HV jobs cannot be clocked on until this is done (the domain refuses; the UI blocks first).
 */
export function HvWizard({ orderId, onDone }: { orderId: string; onDone?: () => void }) {
  const [step, setStep] = useState(0);
  const [ppe, setPpe] = useState(false);
  const [lockTag, setLockTag] = useState("");
  const [residual, setResidual] = useState("");
  const residualError = residual === "" ? null : residualVoltageProblem(residual);
  const isolate = useAction(
    () =>
      unwrap(
        api.POST("/api/v1/repair-orders/{repair_order_id}/hv/isolate", {
          params: { path: { repair_order_id: orderId }, header: { "Idempotency-Key": idempotencyKey() } },
          body: { ppe_checked: ppe, lock_tag_id: lockTag.trim(), residual_voltage_v: residual.replace(",", ".") },
        }),
      ),
    { success: "HV system isolated" },
  );
  return (
    <Stack>
      <Stepper active={step} onStepClick={setStep} size="sm" allowNextStepsSelect={false}>
        <Stepper.Step label="PPE" description="Protective equipment">
          <Checkbox
            mt="md"
            size="md"
            label="I wear class 0 insulating gloves, face shield and have checked them"
            checked={ppe}
            onChange={(e) => setPpe(e.currentTarget.checked)}
          />
        </Stepper.Step>
        <Stepper.Step label="Lock & tag" description="Service disconnect">
          <TextInput
            mt="md"
            size="md"
            label="Lock/tag id"
            description="The id on your personal lock at the service disconnect"
            value={lockTag}
            onChange={(e) => setLockTag(e.currentTarget.value)}
          />
        </Stepper.Step>
        <Stepper.Step label="Measure" description="Residual voltage">
          <TextInput
            mt="md"
            size="md"
            label="Residual voltage (V)"
            inputMode="decimal"
            value={residual}
            error={residualError}
            onChange={(e) => setResidual(e.currentTarget.value)}
          />
        </Stepper.Step>
        <Stepper.Completed>
          <Alert color="green" mt="md">
            The HV system is isolated. HV jobs can be clocked on now.
          </Alert>
        </Stepper.Completed>
      </Stepper>
      {isolate.error ? <ProblemAlert error={isolate.error} /> : null}
      {step < 3 && (
        <Button
          className="tablet-button"
          disabled={(step === 0 && !ppe) || (step === 1 && !lockTag.trim()) || (step === 2 && residualVoltageProblem(residual) !== null)}
          loading={isolate.isPending}
          onClick={() => {
            if (step < 2) setStep(step + 1);
            else
              isolate.mutate(undefined, {
                onSuccess: () => {
                  setStep(3);
                  onDone?.();
                },
              });
          }}
        >
          {step < 2 ? "Next" : "Record isolation"}
        </Button>
      )}
      <Text size="xs" c="dimmed">
        Every step is recorded with your name and the time.
      </Text>
    </Stack>
  );
}
