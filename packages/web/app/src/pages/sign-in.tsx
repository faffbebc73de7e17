import { useState } from 'react';
import { signIn } from '../api/auth.ts';
import { ErrorNotice, Field, onSubmit, useAction } from '../components/forms.tsx';
import { Page } from '../components/page.tsx';
import { Link, navigate } from '../router.tsx';

/**
 * Sign-in. Shown at its own address, and in place of any page when the
 * session ends there (`inPlace`): the page comes back after sign-in with
 * whatever was being typed.
 */
export function SignInPage({ inPlace, ended }: { inPlace?: boolean; ended?: boolean }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction(async () => {
    await signIn(email, password);
    if (inPlace !== true)
      navigate(new URLSearchParams(location.search).get('next') ?? '/', { replace: true });
  });
  return (
    <Page title="Sign in">
      {ended === true ? (
        <div className="notice info" role="status">
          Your session has ended. Sign in again to continue; what you were typing is kept.
        </div>
      ) : null}
      <form onSubmit={onSubmit(() => void action.run())} className="form" aria-label="Sign in">
        <Field
          label="Email"
          name="email"
          type="email"
          value={email}
          onChange={setEmail}
          autoComplete="username"
        />
        <Field
          label="Password"
          name="password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="current-password"
        />
        <ErrorNotice error={action.error} />
        <button type="submit" disabled={action.busy}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p>
        <Link href="/forgot-password">Forgot your password?</Link> · New here?{' '}
        <Link
          href={
            inPlace === true
              ? `/sign-up?next=${encodeURIComponent(location.pathname + location.hash)}`
              : '/sign-up'
          }
        >
          Create an account
        </Link>
      </p>
    </Page>
  );
}
