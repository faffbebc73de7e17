import { useCallback, useEffect, useId, useState } from 'react';
import {
  changeRole,
  createTenant,
  invitations as fetchInvitations,
  members as fetchMembers,
  type Invitation,
  invite,
  type Member,
  type Role,
  removeMember,
  revokeInvitation,
  switchTenant,
} from '../api/auth.ts';
import { subscription } from '../api/billing.ts';
import { ErrorNotice, Field, onSubmit, SuccessNotice, useAction } from '../components/forms.tsx';
import { Page } from '../components/page.tsx';
import { useDraft } from '../drafts.ts';
import { Link } from '../router.tsx';
import { useMe, useSession } from '../session-context.tsx';

const ROLES: readonly Role[] = ['owner', 'admin', 'member'];

export function TeamPage() {
  const me = useMe();
  const current = me.memberships.find((m) => m.tenantId === me.tenantId);
  const manager = me.roles.includes('owner') || me.roles.includes('admin');
  return (
    <Page title={current === undefined ? 'Team' : `Team: ${current.tenantName}`} wide>
      <Teams />
      {manager ? <Members /> : <MemberSelf />}
      {manager ? <Invitations /> : null}
    </Page>
  );
}

function Teams() {
  const me = useMe();
  const { reload } = useSession();
  const [name, setName, clearName] = useDraft('new-team-name');
  const create = useAction(async () => {
    const created = await createTenant(name.trim());
    clearName();
    await switchTenant(created.tenantId);
    await reload();
  });
  const switching = useAction(async (tenantId: string) => {
    await switchTenant(tenantId);
    await reload();
  });
  return (
    <section aria-labelledby="teams">
      <h2 id="teams">Your teams</h2>
      <table>
        <caption className="visually-hidden">Teams you belong to</caption>
        <thead>
          <tr>
            <th scope="col">Team</th>
            <th scope="col">Your role</th>
            <th scope="col">
              <span className="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {me.memberships.map((m) => (
            <tr key={m.tenantId}>
              <td>{m.tenantName}</td>
              <td>{m.role}</td>
              <td>
                {m.tenantId === me.tenantId ? (
                  <span className="badge ok">current</span>
                ) : (
                  <button
                    type="button"
                    onClick={() => void switching.run(m.tenantId)}
                    disabled={switching.busy}
                    aria-label={`Switch to ${m.tenantName}`}
                  >
                    Switch
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorNotice error={switching.error} />
      <form onSubmit={onSubmit(() => void create.run())} className="form inline" aria-label="Create a team">
        <Field label="New team name" name="tenantName" value={name} onChange={setName} autoComplete="off" />
        <button type="submit" disabled={create.busy || name.trim() === ''}>
          Create team
        </button>
      </form>
      <ErrorNotice error={create.error} />
    </section>
  );
}

function useList<T>(load: () => Promise<T[]>) {
  const [items, setItems] = useState<T[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const refresh = useCallback(async () => {
    try {
      setItems(await load());
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, [load]);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  return { items, error, refresh };
}

function Members() {
  const me = useMe();
  const tenantId = me.tenantId;
  const load = useCallback(() => fetchMembers(tenantId), [tenantId]);
  const list = useList<Member>(load);
  const owner = me.roles.includes('owner');
  const [seats, setSeats] = useState<number | undefined>(undefined);
  useEffect(() => {
    // The plan's seat limit, where it bites; without billing the list simply shows no limit.
    subscription(tenantId).then(
      (r) => setSeats(r.entitlements.seats),
      () => undefined,
    );
  }, [tenantId]);
  const used = list.items?.length;
  return (
    <section aria-labelledby="members">
      <h2 id="members">Members</h2>
      {seats === undefined || used === undefined ? null : (
        <p className={used >= seats ? 'notice warn' : undefined} data-testid="seat-usage">
          {used} of {seats} seats used.
          {used >= seats ? (
            <>
              {' '}
              The plan has no free seat: new members cannot join until an owner or admin upgrades on the{' '}
              <Link href="/billing">Billing page</Link>.
            </>
          ) : null}
        </p>
      )}
      <ErrorNotice error={list.error} />
      {list.items === undefined ? (
        <p role="status">Loading members…</p>
      ) : (
        <table>
          <caption className="visually-hidden">Members of this team</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((m) => (
              <MemberRow
                key={m.userId}
                member={m}
                self={m.userId === me.user.id}
                canTouch={owner || m.role !== 'owner'}
                roles={owner ? ROLES : ROLES.filter((r) => r !== 'owner')}
                onChanged={list.refresh}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function MemberRow(props: {
  member: Member;
  self: boolean;
  canTouch: boolean;
  roles: readonly Role[];
  onChanged: () => Promise<void>;
}) {
  const me = useMe();
  const { reload } = useSession();
  const { member } = props;
  const [role, setRole] = useState<Role>(member.role);
  const selectId = useId();
  const save = useAction(async () => {
    await changeRole(me.tenantId, member.userId, role);
    await props.onChanged();
  });
  const remove = useAction(async () => {
    if (!confirm(props.self ? 'Leave this team?' : `Remove ${member.name} from this team?`)) return;
    await removeMember(me.tenantId, member.userId);
    if (props.self) await reload();
    else await props.onChanged();
  });
  return (
    <tr>
      <td>
        {member.name}
        {props.self ? ' (you)' : ''}
      </td>
      <td>{member.email}</td>
      <td>
        {props.canTouch ? (
          <span className="inline-control">
            <label htmlFor={selectId} className="visually-hidden">
              Role of {member.name}
            </label>
            <select id={selectId} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {props.roles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            <button
              type="button"
              disabled={role === member.role || save.busy}
              onClick={() => void save.run()}
              aria-label={`Save the role of ${member.name}`}
            >
              Save
            </button>
          </span>
        ) : (
          member.role
        )}
        <ErrorNotice error={save.error} />
      </td>
      <td>
        {props.canTouch || props.self ? (
          <button
            type="button"
            className="danger"
            onClick={() => void remove.run()}
            disabled={remove.busy}
            aria-label={props.self ? 'Leave this team' : `Remove ${member.name}`}
          >
            {props.self ? 'Leave' : 'Remove'}
          </button>
        ) : null}
        <ErrorNotice error={remove.error} />
      </td>
    </tr>
  );
}

function MemberSelf() {
  const me = useMe();
  const { reload } = useSession();
  const leave = useAction(async () => {
    if (!confirm('Leave this team?')) return;
    await removeMember(me.tenantId, me.user.id);
    await reload();
  });
  return (
    <section aria-labelledby="members">
      <h2 id="members">Members</h2>
      <p>You are a member of this team. Owners and admins manage its members and invitations.</p>
      <button type="button" className="danger" onClick={() => void leave.run()} disabled={leave.busy}>
        Leave this team
      </button>
      <ErrorNotice error={leave.error} />
    </section>
  );
}

function Invitations() {
  const me = useMe();
  const tenantId = me.tenantId;
  const load = useCallback(() => fetchInvitations(tenantId), [tenantId]);
  const list = useList<Invitation>(load);
  const [email, setEmail, clearEmail] = useDraft(`invite-email:${tenantId}`);
  const [role, setRole] = useState<Role>('member');
  const [sentTo, setSentTo] = useState<string | undefined>(undefined);
  const roleId = useId();
  const send = useAction(async () => {
    const created = await invite(tenantId, email.trim(), role);
    setSentTo(created.email);
    clearEmail();
    await list.refresh();
  });
  const revoke = useAction(async (id: string) => {
    await revokeInvitation(tenantId, id);
    await list.refresh();
  });
  const roles = me.roles.includes('owner') ? ROLES : ROLES.filter((r) => r !== 'owner');
  return (
    <section aria-labelledby="invitations">
      <h2 id="invitations">Invitations</h2>
      <form onSubmit={onSubmit(() => void send.run())} className="form inline" aria-label="Invite someone">
        <Field
          label="Email to invite"
          name="email"
          type="email"
          value={email}
          onChange={setEmail}
          autoComplete="off"
        />
        <div className="field">
          <label htmlFor={roleId}>Role</label>
          <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" disabled={send.busy}>
          Send invitation
        </button>
      </form>
      <ErrorNotice error={send.error} />
      {sentTo === undefined ? null : (
        <SuccessNotice>
          <p>Invitation sent to {sentTo}. It is valid for 7 days.</p>
        </SuccessNotice>
      )}
      <ErrorNotice error={list.error ?? revoke.error} />
      {list.items === undefined ? null : list.items.length === 0 ? (
        <p>No open invitations.</p>
      ) : (
        <table>
          <caption className="visually-hidden">Open invitations</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((inv) => (
              <tr key={inv.id}>
                <td>{inv.email}</td>
                <td>{inv.role}</td>
                <td>{new Date(inv.expiresAt).toLocaleDateString()}</td>
                <td>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => void revoke.run(inv.id)}
                    disabled={revoke.busy}
                    aria-label={`Revoke the invitation to ${inv.email}`}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
