import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { axeSeriousViolations, PASSWORD, type Stack } from './stack.ts';

/** What a person does in the app, shared by the browser suites. */

export async function signUpInUi(p: Page, who: { name: string; email: string; team: string }) {
  await p.goto('/sign-up');
  await p.getByLabel('Your name').fill(who.name);
  await p.getByLabel('Email').fill(who.email);
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByLabel('Team name').fill(who.team);
  await p.getByRole('button', { name: 'Create account' }).click();
  await p.getByRole('heading', { level: 1, name: `Welcome, ${who.name}` }).waitFor();
}

export async function signInInUi(p: Page, email: string, password = PASSWORD) {
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

export async function expectAccessible(p: Page, label: string) {
  const violations = await axeSeriousViolations(p);
  assert.deepEqual(violations, [], `${label}: serious or critical axe violations`);
}

export async function apiLogin(stack: Stack, email: string, password = PASSWORD): Promise<string> {
  const res = await fetch(`${stack.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { accessToken: string }).accessToken;
}
