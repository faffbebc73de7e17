import { useEffect, useState } from 'react';

/**
 * Text being typed survives the session ending (the sign-in form takes the
 * page's place and gives it back) and a reload: drafts are kept per key in
 * sessionStorage — which holds drafts only, never a token.
 */
export function useDraft(key: string): [string, (value: string) => void, () => void] {
  const storageKey = `gatehouse:draft:${key}`;
  const [value, setValue] = useState(() => sessionStorage.getItem(storageKey) ?? '');
  useEffect(() => {
    if (value === '') sessionStorage.removeItem(storageKey);
    else sessionStorage.setItem(storageKey, value);
  }, [storageKey, value]);
  return [value, setValue, () => setValue('')];
}
