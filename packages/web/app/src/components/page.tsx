import { type ReactNode, useEffect, useRef } from 'react';

/**
 * A page's heading takes the focus when the page changes, so a keyboard or
 * screen-reader user starts at the new content; the title follows it.
 */
export function Page({ title, children, wide }: { title: string; children: ReactNode; wide?: boolean }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Gatehouse`;
    heading.current?.focus();
  }, [title]);
  return (
    <div className={wide === true ? 'page wide' : 'page'}>
      <h1 ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {children}
    </div>
  );
}
