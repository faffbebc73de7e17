import { Page } from '../components/page.tsx';
import { Link } from '../router.tsx';
import { useMe } from '../session-context.tsx';

export function HomePage() {
  const me = useMe();
  const tenant = me.memberships.find((m) => m.tenantId === me.tenantId);
  return (
    <Page title={`Welcome, ${me.user.name}`}>
      {me.user.emailVerified ? null : (
        <div className="notice info" role="status">
          Please confirm your email address with the link we mailed to {me.user.email}. No mail?{' '}
          <Link href="/account">Send it again</Link>.
        </div>
      )}
      <p>
        You are acting for <strong>{tenant?.tenantName ?? 'no team'}</strong> as {me.roles.join(', ')}.
      </p>
      <ul className="cards">
        <li>
          <Link href="/chat">Chat</Link>: channels, direct conversations, threads, search.
        </li>
        <li>
          <Link href="/billing">Billing</Link>: the plan, its limits, usage and invoices.
        </li>
        <li>
          <Link href="/team">Team</Link>: switch teams, manage members and invitations.
        </li>
        <li>
          <Link href="/account">Account</Link>: your profile, password and sessions.
        </li>
      </ul>
    </Page>
  );
}
