import { gatewayPrioritySuite } from '../helpers/gateway-priority-suite.ts';

// Thread priorities with the gateway worker in a thread of the app's process (`gateway.listener: thread`).
gatewayPrioritySuite('thread');
