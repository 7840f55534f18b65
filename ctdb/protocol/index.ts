export * from './controls.js';
export * from './header.js';
export * from './packets.js';
export * from './sockaddr.js';
