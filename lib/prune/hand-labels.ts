// `nsbackup pin|unpin|expire <snapshot>`: the label recipes of README ("Ad-hoc backups, pin and expire") as commands,
// so nobody needs GNU date or the label keys by heart, and each says what retention will make of it. Deciding is
// pure; the command patches the labels with the snapshot's resourceVersion as a precondition.
import { Labels } from '../labels.js';
import { addDays, localDate } from '../retention/calendar.js';
import { goodSnapsByPvc, pvcKey } from '../retention/records.js';
import type { SnapshotRecord } from '../retention/types.js';

export type HandAction = 'pin' | 'unpin' | 'expire';

export type HandDecision = { labels: Record<string, string | null>; message: string } | { refused: string };

/**
 * What `action` does to `target`, given every snapshot of the namespace (`records`): the label patch and what it
 * means, or why retention would not do what was asked (then nothing is written).
 */
export function decideHandLabel(
  action: HandAction,
  target: SnapshotRecord,
  records: readonly SnapshotRecord[],
  now: Date,
  timeZone: string,
): HandDecision {
  const where = `${target.namespace}/${target.name}`;
  if (!(Labels.retain in target.labels))
    return {
      refused: `${where} is not an nsbackup snapshot (no ${Labels.retain} label): retention never touches it`,
    };
  const pinned = target.labels[Labels.pin] === 'true';
  switch (action) {
    case 'pin':
      return { labels: { [Labels.pin]: 'true' }, message: `pinned ${where}: never marked, never deleted` };
    case 'unpin':
      if (!pinned) return { refused: `${where} is not pinned` };
      return {
        labels: { [Labels.pin]: null },
        message: `unpinned ${where}: retention decides again (a snapshot holding no period label is marked on the next run)`,
      };
    case 'expire': {
      if (pinned) return { refused: `${where} is pinned: unpin it first (nsbackup unpin ${target.name})` };
      const group = goodSnapsByPvc(records).groups.get(pvcKey(target)) ?? [];
      if (group[0]?.record.name === target.name)
        return {
          refused:
            `kept: ${where} is the newest good snapshot of PVC ${target.namespace}/${target.pvc}, which retention ` +
            'never deletes (take a newer backup first)',
        };
      const yesterday = addDays(localDate(now, timeZone), -1);
      return {
        labels: { [Labels.deleteAfter]: yesterday },
        message: `expired ${where}: mark-and-delete deletes it on its next run (delete-after ${yesterday})`,
      };
    }
  }
}
