import { useState } from 'react';
import { signUp } from '../api/auth.ts';
import { ErrorNotice, Field, onSubmit, useAction } from '../components/forms.tsx';
import { Page } from '../components/page.tsx';
import { Link, navigate } from '../router.tsx';

export function SignUpPage() {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [tenantName, setTenantName] = useState('');
  const action = useAction(async () => {
    await signUp({ name, email, password, tenantName });
    navigate(new URLSearchParams(location.search).get('next') ?? '/', { replace: true });
  });
  return (
    <Page title="Create your account">
      <form onSubmit={onSubmit(() => void action.run())} className="form" aria-label="Create your account">
        <Field label="Your name" name="name" value={name} onChange={setName} autoComplete="name" />
        <Field
          label="Email"
          name="email"
          type="email"
          value={email}
          onChange={setEmail}
          autoComplete="email"
        />
        <Field
          label="Password"
          name="password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="new-password"
          hint="At least 15 characters. A phrase of a few unrelated words is easy to remember and hard to guess."
        />
        <Field
          label="Team name"
          name="tenantName"
          value={tenantName}
          onChange={setTenantName}
          autoComplete="organization"
          hint="Your workspace; you can invite people to it and create more teams later."
        />
        <ErrorNotice error={action.error} />
        <button type="submit" disabled={action.busy}>
          {action.busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p>
        Already have an account? <Link href="/sign-in">Sign in</Link>
      </p>
    </Page>
  );
}
