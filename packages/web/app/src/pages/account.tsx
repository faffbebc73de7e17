import { useState } from 'react';
import { changePassword, resendVerification, signOut, signOutEverywhere } from '../api/auth.ts';
import { ErrorNotice, Field, onSubmit, SuccessNotice, useAction } from '../components/forms.tsx';
import { Page } from '../components/page.tsx';
import { useMe } from '../session-context.tsx';

export function AccountPage() {
  const me = useMe();
  const [sent, setSent] = useState(false);
  const resend = useAction(async () => {
    await resendVerification();
    setSent(true);
  });
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const change = useAction(() => changePassword(current, next));
  const out = useAction(signOut);
  const everywhere = useAction(signOutEverywhere);
  const { user } = me;
  return (
    <Page title="Your account">
      <section aria-labelledby="profile">
        <h2 id="profile">Profile</h2>
        <dl className="facts">
          <dt>Name</dt>
          <dd>{user.name}</dd>
          <dt>Email</dt>
          <dd>
            {user.email}{' '}
            {user.emailVerified ? (
              <span className="badge ok">confirmed</span>
            ) : (
              <span className="badge warn">not confirmed</span>
            )}
          </dd>
          <dt>Member since</dt>
          <dd>{new Date(user.createdAt).toLocaleDateString()}</dd>
        </dl>
        {user.emailVerified ? null : sent ? (
          <SuccessNotice>
            <p>A new confirmation link is on its way to {user.email}.</p>
          </SuccessNotice>
        ) : (
          <>
            <button type="button" onClick={() => void resend.run()} disabled={resend.busy}>
              Send the confirmation mail again
            </button>
            <ErrorNotice error={resend.error} />
          </>
        )}
      </section>

      <section aria-labelledby="password">
        <h2 id="password">Change password</h2>
        <p>Changing your password signs you out everywhere, here included.</p>
        <form onSubmit={onSubmit(() => void change.run())} className="form" aria-labelledby="password">
          <Field
            label="Current password"
            name="currentPassword"
            type="password"
            value={current}
            onChange={setCurrent}
            autoComplete="current-password"
          />
          <Field
            label="New password"
            name="newPassword"
            type="password"
            value={next}
            onChange={setNext}
            autoComplete="new-password"
            hint="At least 15 characters."
          />
          <ErrorNotice error={change.error} />
          <button type="submit" disabled={change.busy}>
            Change password
          </button>
        </form>
      </section>

      <section aria-labelledby="sessions">
        <h2 id="sessions">Sessions</h2>
        <div className="actions">
          <button type="button" onClick={() => void out.run()} disabled={out.busy}>
            Sign out on this device
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => void everywhere.run()}
            disabled={everywhere.busy}
          >
            Sign out everywhere
          </button>
        </div>
        <ErrorNotice error={out.error ?? everywhere.error} />
      </section>
    </Page>
  );
}
