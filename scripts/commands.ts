// The commands of the `nsbackup` front door, loaded on demand so one command never pays for another's imports.

import type { Command } from '../lib/command.js';

export interface CommandEntry {
  summary: string;
  load: () => Promise<Command<any>>;
}

export const commands: Record<string, CommandEntry> = {
  backup: {
    summary: 'Back up one namespace: database dump, then a VolumeSnapshot per PVC',
    load: async () => (await import('./backup.js')).command,
  },
  retain: {
    summary: 'Remove the period labels retention no longer keeps',
    load: async () => (await import('./retain.js')).command,
  },
  'mark-and-delete': {
    summary: 'Mark unkept snapshots, delete expired ones',
    load: async () => (await import('./mark-and-delete.js')).command,
  },
  restore: {
    summary: 'Restore a namespace from a backup in S3 or a folder, into any cluster and namespace',
    load: async () => (await import('./restore.js')).command,
  },
  'restore-pvc': {
    summary: 'Create a PVC from a VolumeSnapshot, optionally switching a scaled-down workload to it',
    load: async () => (await import('./restore-pvc.js')).command,
  },
  'restore-db': {
    summary: 'Feed a database dump (from the PVC or from S3) into the database container',
    load: async () => (await import('./restore-db.js')).command,
  },
  list: {
    summary: 'List VolumeSnapshots per PVC with their retention labels',
    load: async () => (await import('./list.js')).command,
  },
  pin: {
    summary: 'Pin a snapshot: never marked, never deleted',
    load: async () => (await import('./hand-labels.js')).pinCommand,
  },
  unpin: {
    summary: 'Unpin a snapshot: retention decides again',
    load: async () => (await import('./hand-labels.js')).unpinCommand,
  },
  expire: {
    summary: 'Expire a snapshot: the next mark-and-delete deletes it',
    load: async () => (await import('./hand-labels.js')).expireCommand,
  },
  status: {
    summary: "Age of each namespace's newest good backup; exit 1 when one is too old or missing",
    load: async () => (await import('./status.js')).command,
  },
  backups: {
    summary: 'List the backups of a namespace stored in S3, with how each run ended',
    load: async () => (await import('./backups.js')).command,
  },
  verify: {
    summary: 'Read a backup back from S3 and check every file: size, SHA-256, decryption, decompression',
    load: async () => (await import('./verify.js')).command,
  },
  describe: {
    summary: 'Describe one backup: objects by kind, files and checksums, snapshots, how to restore it',
    load: async () => (await import('./describe.js')).command,
  },
  export: {
    summary: "Export a namespace's resources as canonical YAML files (--dir) or an archive to S3",
    load: async () => (await import('./export.js')).command,
  },
  'etcd-backup': {
    summary:
      "Snapshot the cluster's etcd, verify it by a trial restore, store it and the PKI encrypted in S3",
    load: async () => (await import('./etcd-backup.js')).command,
  },
  'etcd-restore': {
    summary: 'Download an etcd backup into a data directory and the PKI files, and print the runbook',
    load: async () => (await import('./etcd-restore.js')).command,
  },
  'etcd-verify': {
    summary:
      'Read an etcd backup back from S3, restore it into a scratch folder and check it against its manifest',
    load: async () => (await import('./etcd-verify.js')).command,
  },
  diff: {
    summary: 'Show what differs between a backup (S3 or export folder) and the live namespace',
    load: async () => (await import('./diff.js')).command,
  },
  'volume-check': {
    summary: "Check a namespace's restic repository, reading one slice of its data a night",
    load: async () => (await import('./volume-check.js')).command,
  },
  'volume-mover': {
    summary:
      'Run inside a mover Job (created by backup and restore-pvc): restic backup or restore of one volume',
    load: async () => (await import('./volume-mover.js')).command,
  },
};
