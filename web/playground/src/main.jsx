// The Dezky API playground: GraphiQL with the explorer plugin, queries and
// mutations over HTTP and subscriptions over graphql-ws, both to this
// origin, authenticated with the signed-in user's bearer token.
import React, { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { useEditorContext } from '@graphiql/react';
import { explorerPlugin } from '@graphiql/plugin-explorer';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import { parse } from 'graphql';
import { setNonce } from 'get-nonce';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import './playground.css';
import { Session } from './auth.js';
import { examples, exampleFor } from './examples.js';

const explorer = explorerPlugin();

function useSession(session) {
  return useSyncExternalStore(
    (fn) => session.subscribe(fn),
    () => session.state,
  );
}

function useSessionError(session) {
  return useSyncExternalStore(
    (fn) => session.subscribe(fn),
    () => session.error,
  );
}

// makeFetcher sends every operation with the session's current token;
// subscriptions go over a graphql-ws connection to the same origin whose
// connection_init payload carries the token.
function makeFetcher(config, session) {
  const ws = new URL(config.endpoint, window.location.href);
  ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
  const wsClient = createClient({
    url: ws.toString(),
    lazy: true,
    connectionParams: () => {
      const token = session.token();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
  });
  const base = createGraphiQLFetcher({
    url: config.endpoint,
    wsClient,
    fetch: (input, init = {}) => {
      const headers = new Headers(init.headers || {});
      const token = session.token();
      if (token && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${token}`);
      return window.fetch(input, { ...init, headers });
    },
  });
  // The fetcher routes subscriptions to the WebSocket by the operation's
  // document; parse the text being sent rather than trust the editor's
  // parsed copy, which lags behind the text right after an edit.
  const fetcher = (params, opts = {}) => {
    let documentAST = opts.documentAST;
    try {
      documentAST = parse(params.query);
    } catch {
      // Invalid text: the server reports the syntax error.
    }
    return base(params, { ...opts, documentAST });
  };
  return { fetcher, dispose: () => wsClient.dispose() };
}

function DevSignIn({ session }) {
  const [personas, setPersonas] = useState([]);
  const [choice, setChoice] = useState('operator');
  useEffect(() => {
    session
      .personas()
      .then((list) => {
        setPersonas(list);
        if (list.length > 0 && !list.some((p) => p.as === 'operator')) setChoice(list[0].as);
      })
      .catch((err) => session.fail(err));
  }, [session]);
  return (
    <form
      className="dz-signin"
      onSubmit={(e) => {
        e.preventDefault();
        session.signInAs(choice).catch((err) => session.fail(err));
      }}
    >
      <label>
        Demo user{' '}
        <select id="dz-persona" value={choice} onChange={(e) => setChoice(e.target.value)}>
          {personas.map((p) => (
            <option key={p.as} value={p.as}>
              {p.label} ({p.email})
            </option>
          ))}
        </select>
      </label>
      <button id="dz-signin" type="submit" disabled={personas.length === 0}>
        Sign in
      </button>
    </form>
  );
}

function OIDCSignIn({ session, config }) {
  return (
    <button
      id="dz-signin"
      type="button"
      onClick={() => session.beginLogin().catch((err) => session.fail(err))}
    >
      Sign in with {new URL(config.oidc.issuer).host}
    </button>
  );
}

function Bar({ config, session }) {
  const state = useSession(session);
  const error = useSessionError(session);
  let signIn = <span className="dz-note">Sign-in is not configured: send an Authorization header yourself.</span>;
  if (config.devSignIn) signIn = <DevSignIn session={session} />;
  else if (config.oidc) signIn = <OIDCSignIn session={session} config={config} />;
  return (
    <header className="dz-bar">
      <span className="dz-title">Dezky API playground</span>
      {config.devSignIn && <span className="dz-badge">development issuer</span>}
      <span className="dz-spacer" />
      {state ? (
        <span className="dz-user">
          Signed in as <strong id="dz-email">{state.email}</strong>
          {state.label ? ` (${state.label})` : ''}
          <button id="dz-signout" type="button" onClick={() => session.signOut()}>
            Sign out
          </button>
        </span>
      ) : (
        signIn
      )}
      {error && (
        <span className="dz-error" role="alert">
          {error}
        </span>
      )}
    </header>
  );
}

// The examples plugin: load a persona's example operations into the editor.
function ExamplesContent() {
  const { queryEditor } = useEditorContext({ nonNull: true });
  return (
    <div className="dz-examples">
      <div className="graphiql-doc-explorer-title">Examples</div>
      <p>Example operations per persona (docs/examples). Sign in as that persona, load, then pick the operation to run.</p>
      <ul>
        {examples.map((e) => (
          <li key={e.persona}>
            <button type="button" data-persona={e.persona} onClick={() => queryEditor && queryEditor.setValue(e.query)}>
              {e.title}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function ExamplesIcon() {
  return (
    <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.5">
      <path d="M5 4h10l4 4v12H5z M15 4v4h4 M8 12h8 M8 16h6" />
    </svg>
  );
}

const examplesPlugin = { title: 'Examples', icon: ExamplesIcon, content: ExamplesContent };

function App({ config, session }) {
  const state = useSession(session);
  const who = state ? `${state.kind}:${state.as || state.email}` : '';
  // A new identity gets a new WebSocket connection (its connection_init
  // carries the new token); a renewed token is picked up on the next
  // connection and by every HTTP request.
  const { fetcher, dispose } = useMemo(() => makeFetcher(config, session), [config, session, who]);
  useEffect(() => dispose, [dispose]);
  const mine = state && exampleFor(state.as);
  const defaultTabs = [
    { query: '# Welcome to the Dezky API playground.\n# Sign in above, then run:\n{ me { email isOperator } }\n' },
    ...examples.map((e) => ({ query: e.query })),
  ];
  return (
    <div className="dz-app">
      <Bar config={config} session={session} />
      <main className="dz-main">
        <GraphiQL
          key={who}
          fetcher={fetcher}
          plugins={[examplesPlugin, explorer]}
          defaultTabs={defaultTabs}
          defaultEditorToolsVisibility={false}
          isHeadersEditorEnabled
          shouldPersistHeaders={false}
          initialQuery={mine ? mine.query : undefined}
        >
          <GraphiQL.Logo>Dezky</GraphiQL.Logo>
        </GraphiQL>
      </main>
    </div>
  );
}

async function main() {
  // The style elements dialogs add at run time (scroll locking) carry the
  // per-response nonce the Content-Security-Policy allows.
  const nonce = document.querySelector('meta[name="csp-nonce"]');
  if (nonce) setNonce(nonce.content);
  const root = createRoot(document.getElementById('root'));
  const res = await fetch('playground/config.json', { headers: { Accept: 'application/json' } });
  if (!res.ok) {
    root.render(<p className="dz-error">Cannot load the playground configuration: HTTP {res.status}</p>);
    return;
  }
  const config = await res.json();
  const session = new Session(config);
  if (config.oidc) {
    await session.completeLogin().catch((err) => session.fail(err));
  }
  root.render(<App config={config} session={session} />);
}

main();
