import { Alert, Button, Card, Group, NumberInput, Stack, Text, TextInput, Textarea, Title, UnstyledButton, Badge } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useState } from "react";
import { ApiProblem, api, idempotencyKey, unwrap, type Schemas } from "../api/client";
type CustomerListItem = Pick<Schemas["CustomerView"], "id" | "name" | "email" | "phone">;
type VehicleListItem = Pick<Schemas["VehicleView"], "id" | "vin" | "plate" | "make" | "model" | "year" | "owner_id">;
import { ProblemAlert } from "../ui/states";
import { useAction } from "../ui/useAction";
import { readVin } from "./vin";

const key = () => ({ "Idempotency-Key": idempotencyKey() });

export default function IntakePage() {
  const [customer, setCustomer] = useState<{ id: string; name: string } | null>(null);
  const [vehicle, setVehicle] = useState<{ id: string; label: string } | null>(null);
  return (
    <Stack maw={900}>
      <Title order={2}>Intake</Title>
      <Card withBorder>
        <Title order={3} size="h5" mb="xs">
          1. Customer {customer && <Badge ml="xs">{customer.name}</Badge>}
        </Title>
        {!customer && <CustomerStep onChosen={setCustomer} />}
        {customer && (
          <Button size="xs" variant="subtle" onClick={() => { setCustomer(null); setVehicle(null); }}>
            Change customer
          </Button>
        )}
      </Card>
      {customer && (
        <Card withBorder>
          <Title order={3} size="h5" mb="xs">
            2. Vehicle {vehicle && <Badge ml="xs">{vehicle.label}</Badge>}
          </Title>
          {!vehicle && <VehicleStep ownerId={customer.id} onChosen={setVehicle} />}
        </Card>
      )}
      {customer && vehicle && <OpenOrderStep customerId={customer.id} vehicleId={vehicle.id} />}
    </Stack>
  );
}

function CustomerStep({ onChosen }: { onChosen: (c: { id: string; name: string }) => void }) {
  const [q, setQ] = useState("");
  const [debounced] = useDebouncedValue(q.trim(), 250);
  const results = useQuery({
    queryKey: ["customers", debounced],
    queryFn: async () => {
      const page = await unwrap(api.GET("/api/v1/customers", { params: { query: { q: debounced, limit: 20 } } }));
      return { ...page, items: page.items as unknown as CustomerListItem[] };
    },
    enabled: debounced.length >= 2,
    retry: false,
  });
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [phone, setPhone] = useState("");
  const register = useAction(() =>
    unwrap(api.POST("/api/v1/customers", { params: { header: key() }, body: { name: name.trim(), email: email.trim(), phone: phone.trim() || null, preferences: null } })),
  );
  const searchUnavailable = results.error instanceof ApiProblem && [404, 405].includes(results.error.status);
  return (
    <Stack>
      <TextInput label="Find customer" description="Name, email or phone" value={q} onChange={(e) => setQ(e.currentTarget.value)} />
      {searchUnavailable && <Text size="sm" c="dimmed">Customer search is not available on this server yet; register the customer below.</Text>}
      {results.error && !searchUnavailable ? <ProblemAlert error={results.error} /> : null}
      {results.data?.items.map((c: CustomerListItem) => (
        <UnstyledButton key={c.id} onClick={() => onChosen({ id: c.id, name: c.name })}>
          <Text>
            {c.name} · {c.email} {c.phone ?? ""}
          </Text>
        </UnstyledButton>
      ))}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          register.mutate(undefined, { onSuccess: (r) => onChosen({ id: r.id, name: name.trim() }) });
        }}
      >
        <Stack gap="xs">
          <Text fw={600}>Or register a new customer</Text>
          <Group grow>
            <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
            <TextInput label="Email" type="email" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
            <TextInput label="Phone" value={phone} onChange={(e) => setPhone(e.currentTarget.value)} />
          </Group>
          {register.error ? <ProblemAlert error={register.error} /> : null}
          <Group>
            <Button type="submit" loading={register.isPending}>
              Register customer
            </Button>
          </Group>
        </Stack>
      </form>
    </Stack>
  );
}

function VehicleStep({ ownerId, onChosen }: { ownerId: string; onChosen: (v: { id: string; label: string }) => void }) {
  const owned = useQuery({ queryKey: ["vehicles", ownerId], queryFn: async () => {
      const page = await unwrap(api.GET("/api/v1/vehicles", { params: { query: { owner_id: ownerId, limit: 20 } } }));
      return { ...page, items: page.items as unknown as VehicleListItem[] };
    }, retry: false });
  const [vinText, setVinText] = useState("");
  const vin = readVin(vinText);
  const existing = useQuery({
    queryKey: ["vehicle-by-vin", vin.vin],
    queryFn: () => unwrap(api.GET("/api/v1/vehicles/by-vin/{vin}", { params: { path: { vin: vin.vin } } })),
    enabled: vin.complete,
    retry: false,
  });
  const [plate, setPlate] = useState("");
  const [make, setMake] = useState("");
  const [model, setModel] = useState("");
  const [year, setYear] = useState<string | number>("");
  const [kwh, setKwh] = useState<string | number>("");
  const [voltage, setVoltage] = useState<string | number>(400);
  const register = useAction(() =>
    unwrap(
      api.POST("/api/v1/vehicles", {
        params: { header: key() },
        body: {
          vin: vin.vin,
          plate: plate.trim(),
          make: make.trim() || null,
          model: model.trim(),
          year: Number(year || vin.modelYear),
          battery_kwh: String(kwh),
          nominal_voltage_v: String(voltage),
          owner_id: ownerId,
        },
      }),
    ),
  );
  return (
    <Stack>
      {owned.data?.items.map((v: VehicleListItem) => (
        <Button key={v.id} variant="light" onClick={() => onChosen({ id: v.id, label: `${v.plate} ${v.make} ${v.model}` })}>
          {v.plate} · {v.make} {v.model} ({v.year})
        </Button>
      ))}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          register.mutate(undefined, { onSuccess: (r) => onChosen({ id: r.id, label: `${plate.trim()} ${model.trim()}` }) });
        }}
      >
        <Stack gap="xs">
          <TextInput
            label="VIN"
            required
            value={vinText}
            onChange={(e) => setVinText(e.currentTarget.value)}
            error={vin.problem}
            description={
              vin.complete
                ? `${vin.region ?? "Unknown region"} · model year ${vin.modelYear ?? "?"}${vin.checkDigitValid === false ? " · check digit does not match (fine outside North America)" : ""}`
                : `${vin.vin.length}/17 characters`
            }
          />
          {existing.data && (
            <Alert color="blue" title="This vehicle is already registered">
              {existing.data.plate} · {existing.data.make} {existing.data.model}
              <Button size="xs" ml="sm" onClick={() => onChosen({ id: existing.data.id, label: `${existing.data.plate} ${existing.data.model}` })}>
                Use it
              </Button>
            </Alert>
          )}
          <Group grow>
            <TextInput label="Plate" required value={plate} onChange={(e) => setPlate(e.currentTarget.value)} />
            <TextInput label="Make" value={make} onChange={(e) => setMake(e.currentTarget.value)} placeholder="from the VIN" />
            <TextInput label="Model" required value={model} onChange={(e) => setModel(e.currentTarget.value)} />
          </Group>
          <Group grow>
            <NumberInput label="Year" value={year || vin.modelYear || ""} onChange={setYear} min={1990} max={2100} />
            <NumberInput label="Battery (kWh)" required value={kwh} onChange={setKwh} min={1} decimalScale={1} />
            <NumberInput label="Nominal voltage (V)" required value={voltage} onChange={setVoltage} min={48} />
          </Group>
          {register.error ? <ProblemAlert error={register.error} /> : null}
          <Group>
            <Button type="submit" loading={register.isPending} disabled={!vin.complete}>
              Register vehicle
            </Button>
          </Group>
        </Stack>
      </form>
    </Stack>
  );
}

function OpenOrderStep({ customerId, vehicleId }: { customerId: string; vehicleId: string }) {
  const navigate = useNavigate();
  const [concerns, setConcerns] = useState("");
  const [odometer, setOdometer] = useState<string | number>("");
  const [soc, setSoc] = useState<string | number>("");
  const open = useAction(() =>
    unwrap(
      api.POST("/api/v1/repair-orders", {
        params: { header: key() },
        body: {
          customer_id: customerId,
          vehicle_id: vehicleId,
          concerns: concerns.split("\n").map((c) => c.trim()).filter(Boolean),
          odometer_in_km: Number(odometer),
          soc_in_pct: soc === "" ? null : String(soc),
          promised_at: null,
        },
      }),
    ),
  );
  return (
    <Card withBorder>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          open.mutate(undefined, { onSuccess: (r) => void navigate({ to: `/repair-orders/${r.id}` }) });
        }}
      >
        <Stack gap="xs">
          <Title order={3} size="h5">
            3. Open the repair order
          </Title>
          <Textarea label="Concerns (one per line)" required autosize minRows={2} value={concerns} onChange={(e) => setConcerns(e.currentTarget.value)} />
          <Group grow>
            <NumberInput label="Odometer (km)" required min={0} value={odometer} onChange={setOdometer} />
            <NumberInput label="State of charge (%)" min={0} max={100} value={soc} onChange={setSoc} />
          </Group>
          {open.error ? <ProblemAlert error={open.error} /> : null}
          <Group>
            <Button type="submit" loading={open.isPending}>
              Open repair order
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}
