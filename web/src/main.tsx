/** The Serval dashboard: sign-in, navigation, and the page for the current path. */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { loadSession, onSessionChange, type Session, signIn, signOut } from './api';
import { AlertsPage } from './pages/alerts';
import { ExperimentPage, ExperimentsPage } from './pages/experiments';
import { JobPage, JobsPage } from './pages/jobs';
import { ModelPage } from './pages/model';
import { ModelsPage } from './pages/models';
import { MonitoringPage } from './pages/monitoring';
import { QualityPage } from './pages/quality';
import { onLinkClick, useLocation } from './router';
import { ErrorBox } from './ui';

function SignIn({ expired }: { expired: boolean }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  return (
    <main id="main" class="signin">
      <h1 tabIndex={-1}>Sign in to Serval</h1>
      {expired && <p role="status">Your session ended. Sign in again.</p>}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            await signIn(key.trim());
            setKey('');
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autocomplete="off"
          required
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={busy || !key.trim()}>
          Sign in
        </button>
        <p class="muted">
          The key is exchanged at once for a session token that lasts an hour, kept in this tab only; the key
          itself is not stored. Locally, the admin key is in <code>.serval/admin-key</code>.
        </p>
        {error !== undefined && <ErrorBox error={error} />}
      </form>
    </main>
  );
}

function Page({ session }: { session: Session }) {
  const { path, query } = useLocation();
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return <ModelsPage q={query.get('q') ?? ''} />;
  if (parts[0] === 'models' && parts[1]) {
    if (parts[2] === 'monitoring') return <MonitoringPage name={parts[1]} session={session} />;
    if (parts[2] === 'quality') return <QualityPage name={parts[1]} />;
    return <ModelPage name={parts[1]} selected={query.get('version') ?? undefined} session={session} />;
  }
  if (parts[0] === 'alerts') {
    return (
      <AlertsPage model={query.get('model') ?? ''} status={query.get('status') ?? 'open'} session={session} />
    );
  }
  if (parts[0] === 'jobs' && parts[1]) return <JobPage id={parts[1]} session={session} />;
  if (parts[0] === 'jobs') {
    return <JobsPage model={query.get('model') ?? ''} state={query.get('state') ?? ''} session={session} />;
  }
  if (parts[0] === 'experiments' && parts[1]) return <ExperimentPage id={parts[1]} />;
  if (parts[0] === 'experiments') {
    return <ExperimentsPage model={query.get('model') ?? ''} state={query.get('state') ?? ''} />;
  }
  return (
    <section>
      <h1 tabIndex={-1}>Not found</h1>
      <p>
        Nothing lives at {path}. Go to the <a href="/">models</a>.
      </p>
    </section>
  );
}

function App() {
  const [session, setSession] = useState(loadSession);
  const [expired, setExpired] = useState(false);
  const { path } = useLocation();
  useEffect(
    () =>
      onSessionChange((s) => {
        setExpired(!s && !!session);
        setSession(s);
      }),
    [session],
  );
  // The token's expiry ends the session even when no request notices it.
  useEffect(() => {
    if (!session) return;
    const ms = Date.parse(session.expiresAt) - Date.now();
    const timer = setTimeout(signOut, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    return () => clearTimeout(timer);
  }, [session]);
  if (!session) return <SignIn expired={expired} />;
  const nav = [
    ['/', 'Models'],
    ['/alerts', 'Alerts'],
    ['/experiments', 'Experiments'],
    ['/jobs', 'Jobs'],
  ] as const;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <strong class="brand">Serval</strong>
        <nav aria-label="Main">
          {nav.map(([href, label]) => (
            <a
              key={href}
              href={href}
              aria-current={
                (href === '/' ? path === '/' || path.startsWith('/models') : path.startsWith(href))
                  ? 'page'
                  : undefined
              }
            >
              {label}
            </a>
          ))}
        </nav>
        <span class="who">
          {session.name} <span class="badge">{session.role}</span>
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main">
        <Page session={session} />
      </main>
    </>
  );
}

document.addEventListener('click', onLinkClick);
render(<App />, document.getElementById('app')!);
