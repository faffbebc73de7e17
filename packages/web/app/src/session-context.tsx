import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from 'react';
import { me as fetchMe, type Me } from './api/auth.ts';
import { onSessionEvent, resume } from './api/session.ts';

export type SessionState =
  | { readonly status: 'loading' }
  | { readonly status: 'signed-out'; readonly ended: boolean }
  | { readonly status: 'signed-in'; readonly me: Me };

interface SessionContextValue {
  readonly state: SessionState;
  /** Reads /me again (after a tenant switch, a role change, accepting an invitation). */
  reload(): Promise<void>;
}

const SessionContext = createContext<SessionContextValue | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });

  const reload = useCallback(async () => {
    try {
      setState({ status: 'signed-in', me: await fetchMe() });
    } catch {
      // A failed /me after the session ended is reported by the signed-out event.
    }
  }, []);

  useEffect(() => {
    const off = onSessionEvent((event) => {
      if (event.type === 'signed-out') setState({ status: 'signed-out', ended: event.reason === 'ended' });
      else if (event.type === 'signed-in') void reload();
    });
    void resume().then((ok) => {
      if (ok) void reload();
      else setState({ status: 'signed-out', ended: false });
    });
    return off;
  }, [reload]);

  return <SessionContext.Provider value={{ state, reload }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (value === undefined) throw new Error('useSession outside SessionProvider');
  return value;
}

/** The signed-in user's data; only for pages rendered behind the sign-in guard. */
export function useMe(): Me {
  const { state } = useSession();
  if (state.status !== 'signed-in') throw new Error('useMe while not signed in');
  return state.me;
}
