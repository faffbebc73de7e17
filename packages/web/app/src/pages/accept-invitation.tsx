import { useState } from 'react';
import { acceptInvitation, switchTenant } from '../api/auth.ts';
import { ErrorNotice, SuccessNotice, useAction } from '../components/forms.tsx';
import { Page } from '../components/page.tsx';
import { fragmentParam, Link, navigate } from '../router.tsx';
import { useMe, useSession } from '../session-context.tsx';

export function AcceptInvitationPage() {
  const me = useMe();
  const { reload } = useSession();
  const [token] = useState(() => fragmentParam('token') ?? '');
  const [joined, setJoined] = useState<{ tenantId: string; role: string } | undefined>(undefined);
  const accept = useAction(async () => {
    setJoined(await acceptInvitation(token));
    await reload();
  });
  const open = useAction(async () => {
    if (joined === undefined) return;
    await switchTenant(joined.tenantId);
    await reload();
    navigate('/team');
  });
  return (
    <Page title="Join a team">
      {token === '' ? (
        <div className="notice error" role="alert">
          This page needs the link from the invitation mail.
        </div>
      ) : joined !== undefined ? (
        <SuccessNotice>
          <p>You joined the team as {joined.role}.</p>
          <button type="button" onClick={() => void open.run()} disabled={open.busy}>
            Switch to the team
          </button>
        </SuccessNotice>
      ) : (
        <>
          <p>
            You are signed in as <strong>{me.user.email}</strong>. The invitation must have been sent to this
            address.
          </p>
          <button type="button" onClick={() => void accept.run()} disabled={accept.busy}>
            Accept the invitation
          </button>
        </>
      )}
      <ErrorNotice error={accept.error ?? open.error} />
      <p>
        <Link href="/team">Your teams</Link>
      </p>
    </Page>
  );
}
