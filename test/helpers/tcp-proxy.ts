// The proxy that cuts a dependency in the fault tests; the soak uses the same one.
export { startTcpProxy, targetOf, type TcpProxy } from '../../apps/bench/soak/tcp-proxy.ts';
