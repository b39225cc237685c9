import { Alert, Button, Card, Center, Container, Group, Loader, Stack, Text, Title, Badge } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { takeNext } from "../auth/next";
import { useEffect, useState } from "react";
import { api, unwrap } from "../api/client";
import { session } from "../auth/session";
import { completeOidcSignIn, signInAsDemoPerson, startOidcSignIn, webConfig } from "../auth/signIn";
import { homeFor } from "../router";
import { ProblemAlert, Loading } from "../ui/states";

export function SignInPage() {
  const navigate = useNavigate();
  const config = useQuery({ queryKey: ["web-config"], queryFn: webConfig, staleTime: Infinity });
  const expired = session.expiredNotice;
  return (
    <Container size="sm" py="xl">
      <main>
        <Stack>
          <Title order={1}>Sign in to ReGenZet</Title>
          {expired && (
            <Alert color="yellow" title="Session ended">
              Your session expired. Please sign in again.
            </Alert>
          )}
          {config.error ? (
            <ProblemAlert error={config.error} onRetry={() => void config.refetch()} />
          ) : !config.data ? (
            <Loading />
          ) : config.data.auth === "oidc" ? (
            <Button size="lg" onClick={() => void startOidcSignIn(takeNext() ?? "/")}>
              Sign in with your garage account
            </Button>
          ) : (
            <DemoPeople
              onSignedIn={async (role) => {
                await navigate({ to: takeNext() ?? homeFor(role) });
              }}
            />
          )}
        </Stack>
      </main>
    </Container>
  );
}

function DemoPeople({ onSignedIn }: { onSignedIn: (role: Parameters<typeof homeFor>[0]) => Promise<void> }) {
  const people = useQuery({
    queryKey: ["demo-people"],
    queryFn: () => unwrap(api.GET("/auth/local/people")),
  });
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (people.error) return <ProblemAlert error={people.error} onRetry={() => void people.refetch()} />;
  if (!people.data) return <Loading />;
  return (
    <Stack>
      <Text c="dimmed">Local demo garage: choose who you are.</Text>
      {error ? <ProblemAlert error={error} /> : null}
      <div className="kpi-cards">
        {people.data.items.map((person) => (
          <Card key={person.name} withBorder padding="sm">
            <Stack gap={4}>
              <Text fw={600}>{person.display_name}</Text>
              <Group gap={4}>
                <Badge variant="light">{person.role}</Badge>
                {person.hv_level !== null && person.hv_level !== undefined && (
                  <Badge variant="light" color="orange">
                    HV {person.hv_level}
                  </Badge>
                )}
              </Group>
              <Button
                size="xs"
                mt={4}
                loading={busy === person.name}
                aria-label={`Sign in as ${person.display_name}`}
                onClick={async () => {
                  setBusy(person.name);
                  setError(null);
                  try {
                    const identity = await signInAsDemoPerson(person.name);
                    await onSignedIn(identity.role);
                  } catch (e) {
                    setError(e);
                  } finally {
                    setBusy(null);
                  }
                }}
              >
                Sign in
              </Button>
            </Stack>
          </Card>
        ))}
      </div>
    </Stack>
  );
}

export function OidcCallbackPage() {
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    completeOidcSignIn()
      .then((to) => navigate({ to, replace: true }))
      .catch(setError);
  }, [navigate]);
  return (
    <Center py="xl">
      <main>{error ? <ProblemAlert error={error} /> : <Loader aria-label="Signing in" />}</main>
    </Center>
  );
}
