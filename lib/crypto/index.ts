// What every feature that stores files shares: encryption (segmented AES-256-GCM), the namespace's key, and the
// size and SHA-256 of what was stored.
export * from './encryption.js';
export * from './digest.js';
export * from './keys.js';
