import type { ReactNode } from 'react';
import { ErrorBoundary } from './components/error-boundary.tsx';
import { Layout } from './components/layout.tsx';
import { AcceptInvitationPage } from './pages/accept-invitation.tsx';
import { AccountPage } from './pages/account.tsx';
import { BillingPage } from './pages/billing.tsx';
import { ChatPage } from './pages/chat/chat-page.tsx';
import { HomePage } from './pages/home.tsx';
import { NotFoundPage } from './pages/not-found.tsx';
import { ForgotPasswordPage, ResetPasswordPage } from './pages/password-reset.tsx';
import { SignInPage } from './pages/sign-in.tsx';
import { SignUpPage } from './pages/sign-up.tsx';
import { TeamPage } from './pages/team.tsx';
import { VerifyEmailPage } from './pages/verify-email.tsx';
import { navigate, usePath } from './router.tsx';
import { SessionProvider, useSession } from './session-context.tsx';

/** Pages anyone may open. */
const PUBLIC: Record<string, () => ReactNode> = {
  '/sign-in': () => <SignInPage />,
  '/sign-up': () => <SignUpPage />,
  '/forgot-password': () => <ForgotPasswordPage />,
  '/reset-password': () => <ResetPasswordPage />,
  '/verify-email': () => <VerifyEmailPage />,
};

/** Pages behind sign-in. */
const PRIVATE: Record<string, () => ReactNode> = {
  '/': () => <HomePage />,
  '/team': () => <TeamPage />,
  '/account': () => <AccountPage />,
  '/chat': () => <ChatPage />,
  '/billing': () => <BillingPage />,
  '/accept-invitation': () => <AcceptInvitationPage />,
};

function Routes() {
  const path = usePath();
  const { state } = useSession();
  const publicPage = PUBLIC[path];
  if (publicPage !== undefined) {
    // Signed in already: sign-in and sign-up lead on.
    if (state.status === 'signed-in' && (path === '/sign-in' || path === '/sign-up')) {
      queueMicrotask(() =>
        navigate(new URLSearchParams(location.search).get('next') ?? '/', { replace: true }),
      );
      return null;
    }
    return publicPage();
  }
  // /chat/<conversation id> is the chat page with that conversation open.
  const page = PRIVATE[path.startsWith('/chat/') ? '/chat' : path];
  if (page === undefined) return <NotFoundPage />;
  if (state.status === 'loading') return <p role="status">Loading…</p>;
  // Signed out: the sign-in form stands in for the page at the same address, which keeps the
  // page's drafts and the link's #token; the page itself comes back once signed in.
  if (state.status === 'signed-out') return <SignInPage inPlace ended={state.ended} />;
  return page();
}

export function App() {
  return (
    <SessionProvider>
      <Layout>
        <ErrorBoundary>
          <Routes />
        </ErrorBoundary>
      </Layout>
    </SessionProvider>
  );
}
