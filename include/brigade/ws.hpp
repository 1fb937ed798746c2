#pragma once
// The WebSocket layer: connections, the server's routes, the client, broadcasting.
#include "brigade/ws/behavior.hpp"
#include "brigade/ws/client.hpp"
#include "brigade/ws/frame.hpp"
#include "brigade/ws/handshake.hpp"
#include "brigade/ws/hub.hpp"
#include "brigade/ws/server.hpp"
#include "brigade/ws/websocket.hpp"
