#pragma once
#include "brigade/loop/loop.hpp"
#include "brigade/loop/signal.hpp"
