#pragma once
// Redis on the loop: RESP, pipelined connections, Client (pool, reconnect), Subscriber.
#include "brigade/redis/client.hpp"
#include "brigade/redis/connection.hpp"
#include "brigade/redis/error.hpp"
#include "brigade/redis/options.hpp"
#include "brigade/redis/reply.hpp"
#include "brigade/redis/resp.hpp"
#include "brigade/redis/subscriber.hpp"
