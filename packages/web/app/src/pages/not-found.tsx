import { Page } from '../components/page.tsx';
import { Link } from '../router.tsx';

export function NotFoundPage() {
  return (
    <Page title="Page not found">
      <p>There is no page at this address.</p>
      <p>
        <Link href="/">Go to the start page</Link>
      </p>
    </Page>
  );
}
