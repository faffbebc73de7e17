import { type FormEvent, type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { ApiError } from '../api/problem.ts';

/** A labelled input; the error (if any) is tied to it for screen readers. */
export function Field(props: {
  label: string;
  name: string;
  type?: string;
  value: string;
  onChange: (value: string) => void;
  autoComplete?: string;
  required?: boolean;
  minLength?: number;
  hint?: string;
  autoFocus?: boolean;
}) {
  const id = useId();
  const hintId = props.hint === undefined ? undefined : `${id}-hint`;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        autoComplete={props.autoComplete}
        required={props.required ?? true}
        minLength={props.minLength}
        aria-describedby={hintId}
        // biome-ignore lint/a11y/noAutofocus: the first field of a form page, where focus is expected
        autoFocus={props.autoFocus}
      />
      {props.hint === undefined ? null : (
        <p id={hintId} className="hint">
          {props.hint}
        </p>
      )}
    </div>
  );
}

/** The sentence for a failed call, announced as it appears. */
export function ErrorNotice({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const message = error instanceof Error ? error.message : String(error);
  const requestId = error instanceof ApiError ? error.problem.requestId : undefined;
  const fields = error instanceof ApiError ? (error.problem.errors ?? []) : [];
  return (
    <div className="notice error" role="alert">
      <p>{message}</p>
      {fields.length > 0 ? (
        <ul>
          {fields.map((f) => (
            <li key={f.field}>
              {f.field.replace(/^body\./, '')}: {f.message}
            </li>
          ))}
        </ul>
      ) : null}
      {requestId === undefined ? null : <p className="request-id">Request id: {requestId}</p>}
    </div>
  );
}

export function SuccessNotice({ children }: { children: ReactNode }) {
  return (
    <div className="notice success" role="status">
      {children}
    </div>
  );
}

/**
 * Runs an async action with a busy flag and the error to show; the caller's
 * form stays as it was on failure (nothing typed is lost).
 */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );
  async function run(...args: A): Promise<boolean> {
    setBusy(true);
    setError(undefined);
    try {
      await action(...args);
      return true;
    } catch (err) {
      if (mounted.current) setError(err);
      return false;
    } finally {
      if (mounted.current) setBusy(false);
    }
  }
  return { busy, error, run, setError };
}

export function onSubmit(handler: () => void) {
  return (event: FormEvent) => {
    event.preventDefault();
    handler();
  };
}
