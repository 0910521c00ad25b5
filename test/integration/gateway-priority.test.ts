import { gatewayPrioritySuite } from '../helpers/gateway-priority-suite.ts';

// Thread priorities with the gateway worker in a process of its own (the default).
gatewayPrioritySuite('process');
