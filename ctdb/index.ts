export * from './cluster-view.js';
export * from './connection.js';
export { CtdbdClusterView, type CtdbdViewOptions } from './ctdbd-view.js';
export { CtdbControl, CtdbSrvid, NodeFlags } from './protocol/controls.js';
export { RedisClusterView, type RedisViewOptions, SimulatedCluster } from './redis-sim.js';
export { SingleNodeView } from './single-node.js';
