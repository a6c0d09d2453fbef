/** The shell: sign-in with the admin token, the navigation, and the page for the current hash route. */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, forgetToken, saveToken, setUnauthorizedHandler, storedToken } from './api.js';
import { useHashRoute, useLoad } from './hooks.js';
import { EventsPage } from './pages/events.js';
import { FleetPage, fleetConfigured } from './pages/fleet.js';
import { HostsPage } from './pages/hosts.js';
import { IncidentDetailPage } from './pages/incident-detail.js';
import { IncidentsPage } from './pages/incidents.js';
import { ListsPage } from './pages/lists.js';
import { OverviewPage } from './pages/overview.js';
import { SettingsPage } from './pages/settings.js';

const NAV = [
  { path: '/', label: 'Overview' },
  { path: '/incidents', label: 'Incidents' },
  { path: '/hosts', label: 'Hosts' },
  { path: '/events', label: 'Events' },
  { path: '/lists', label: 'Lists' },
  { path: '/settings', label: 'Settings' },
];

const REJECTED =
  'The admin token was not accepted (401). Use the token from admin.token, admin.tokenFile or <dataDir>/admin-token.';

export function App() {
  const [signedIn, setSignedIn] = useState(storedToken() !== null);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  useEffect(() => {
    setUnauthorizedHandler(() => {
      forgetToken();
      setSignedIn(false);
      setNotice(REJECTED);
    });
  }, []);
  if (!signedIn)
    return (
      <SignIn
        notice={notice}
        onSignedIn={() => {
          setNotice(undefined);
          setSignedIn(true);
        }}
      />
    );
  return (
    <Shell
      onSignOut={() => {
        forgetToken();
        setNotice('Signed out; the token is forgotten.');
        setSignedIn(false);
      }}
    />
  );
}

function SignIn({ notice, onSignedIn }: { notice: string | undefined; onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);
  return (
    <main class="signin">
      <h1>poolsink</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            await api('/api/v1/incidents?limit=1', { token: token.trim() });
            saveToken(token.trim());
            onSignedIn();
          } catch (err: unknown) {
            setError(err instanceof ApiError && err.status === 401 ? REJECTED : `Sign-in failed: ${String(err)}`);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          Admin token
          <input
            type="password"
            autoComplete="off"
            required
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error !== undefined ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
        <p class="muted">The token stays in this tab only and is sent as a bearer header.</p>
      </form>
    </main>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const route = useHashRoute();
  const [path = '/', search = ''] = route.split('?', 2);
  const params = Object.fromEntries(new URLSearchParams(search));
  const section = `/${path.split('/')[1] ?? ''}`;
  // The Fleet page only on a fleet member (the /fleet routes answer; 404 without central.postgres).
  const fleet = useLoad(fleetConfigured, 'fleet');
  const nav = fleet.data === true ? [...NAV, { path: '/fleet', label: 'Fleet' }] : NAV;
  return (
    <>
      <header class="top">
        <span class="brand">poolsink</span>
        <nav aria-label="Pages">
          {nav.map((item) => (
            <a key={item.path} href={`#${item.path}`} aria-current={section === item.path ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <button type="button" class="signout" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>{page(path, params)}</main>
    </>
  );
}

function page(path: string, params: Record<string, string>) {
  const incident = /^\/incidents\/(\d+)$/.exec(path);
  if (incident?.[1] !== undefined) return <IncidentDetailPage key={incident[1]} id={incident[1]} />;
  switch (path) {
    case '/incidents':
      return <IncidentsPage initialState={params['state'] ?? ''} />;
    case '/hosts':
      return <HostsPage />;
    case '/events':
      return <EventsPage key={JSON.stringify(params)} initial={params} />;
    case '/lists':
      return <ListsPage />;
    case '/settings':
      return <SettingsPage />;
    case '/fleet':
      return <FleetPage />;
    default:
      return <OverviewPage />;
  }
}
