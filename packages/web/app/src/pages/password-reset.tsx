import { useState } from 'react';
import { confirmPasswordReset, requestPasswordReset } from '../api/auth.ts';
import { ErrorNotice, Field, onSubmit, SuccessNotice, useAction } from '../components/forms.tsx';
import { Page } from '../components/page.tsx';
import { fragmentParam, Link } from '../router.tsx';

export function ForgotPasswordPage() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const action = useAction(async () => {
    await requestPasswordReset(email);
    setSent(true);
  });
  return (
    <Page title="Reset your password">
      {sent ? (
        <SuccessNotice>
          <p>
            If an account exists for {email}, a link to set a new password is on its way. It is valid for one
            hour.
          </p>
        </SuccessNotice>
      ) : (
        <form onSubmit={onSubmit(() => void action.run())} className="form" aria-label="Reset your password">
          <Field
            label="Email"
            name="email"
            type="email"
            value={email}
            onChange={setEmail}
            autoComplete="email"
          />
          <ErrorNotice error={action.error} />
          <button type="submit" disabled={action.busy}>
            Send the link
          </button>
        </form>
      )}
      <p>
        <Link href="/sign-in">Back to sign-in</Link>
      </p>
    </Page>
  );
}

export function ResetPasswordPage() {
  const [token] = useState(() => fragmentParam('token') ?? '');
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const action = useAction(async () => {
    await confirmPasswordReset(token, password);
    setDone(true);
  });
  return (
    <Page title="Choose a new password">
      {token === '' ? (
        <div className="notice error" role="alert">
          This page needs the link from the reset mail.{' '}
          <Link href="/forgot-password">Ask for a new one.</Link>
        </div>
      ) : done ? (
        <SuccessNotice>
          <p>
            Your password is changed and every session was ended. <Link href="/sign-in">Sign in</Link> with
            the new one.
          </p>
        </SuccessNotice>
      ) : (
        <form
          onSubmit={onSubmit(() => void action.run())}
          className="form"
          aria-label="Choose a new password"
        >
          <Field
            label="New password"
            name="newPassword"
            type="password"
            value={password}
            onChange={setPassword}
            autoComplete="new-password"
            hint="At least 15 characters."
          />
          <ErrorNotice error={action.error} />
          <button type="submit" disabled={action.busy}>
            Set the password
          </button>
        </form>
      )}
    </Page>
  );
}
