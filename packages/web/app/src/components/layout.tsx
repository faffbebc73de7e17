import type { ReactNode } from 'react';
import { Link, usePath } from '../router.tsx';
import { useSession } from '../session-context.tsx';

const NAV = [
  { href: '/', label: 'Home' },
  { href: '/chat', label: 'Chat' },
  { href: '/team', label: 'Team' },
  { href: '/billing', label: 'Billing' },
  { href: '/account', label: 'Account' },
];

export function Layout({ children }: { children: ReactNode }) {
  const { state } = useSession();
  const path = usePath();
  const tenant =
    state.status === 'signed-in'
      ? state.me.memberships.find((m) => m.tenantId === state.me.tenantId)?.tenantName
      : undefined;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          Gatehouse
        </Link>
        {state.status === 'signed-in' ? (
          <>
            <nav aria-label="Main">
              <ul>
                {NAV.map((item) => (
                  <li key={item.href}>
                    <Link
                      href={item.href}
                      aria-current={
                        path === item.href || (item.href !== '/' && path.startsWith(`${item.href}/`))
                          ? 'page'
                          : undefined
                      }
                    >
                      {item.label}
                    </Link>
                  </li>
                ))}
              </ul>
            </nav>
            <p className="who">
              <span className="visually-hidden">Signed in as </span>
              {state.me.user.name}
              {tenant === undefined ? null : (
                <>
                  <span aria-hidden="true"> · </span>
                  <span className="visually-hidden">, acting for </span>
                  {tenant}
                </>
              )}
            </p>
          </>
        ) : null}
      </header>
      <main id="main">{children}</main>
    </>
  );
}
