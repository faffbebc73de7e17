import { useEffect, useState } from 'react';
import { verifyEmail } from '../api/auth.ts';
import { ErrorNotice, SuccessNotice, useAction } from '../components/forms.tsx';
import { Page } from '../components/page.tsx';
import { fragmentParam, Link } from '../router.tsx';
import { useSession } from '../session-context.tsx';

export function VerifyEmailPage() {
  const [token] = useState(() => fragmentParam('token') ?? '');
  const [done, setDone] = useState(false);
  const { state, reload } = useSession();
  const action = useAction(async () => {
    await verifyEmail(token);
    setDone(true);
    if (state.status === 'signed-in') await reload();
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: verify once, when the page opens with its token
  useEffect(() => {
    if (token !== '') void action.run();
  }, [token]);
  return (
    <Page title="Confirm your email">
      {token === '' ? (
        <div className="notice error" role="alert">
          This page needs the link from the confirmation mail. You can ask for a new one on your{' '}
          <Link href="/account">account page</Link>.
        </div>
      ) : done ? (
        <SuccessNotice>
          <p>
            Your email address is confirmed. <Link href="/">Continue</Link>
          </p>
        </SuccessNotice>
      ) : action.busy ? (
        <p role="status">Confirming…</p>
      ) : (
        <ErrorNotice error={action.error} />
      )}
    </Page>
  );
}
