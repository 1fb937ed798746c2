#pragma once
// Jobs on Redis Streams: Queue (producers, results, events) and Consumer (BullMQ's Queue/Worker).
#include "brigade/queue/consumer.hpp"
#include "brigade/queue/queue.hpp"
