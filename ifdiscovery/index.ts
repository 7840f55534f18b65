export * from './config.js';
export * from './discovery.js';
export * from './enumerate.js';
export * from './public-ips.js';
export * from './report.js';
export * from './smbconf.js';
export * from './sysfs.js';
