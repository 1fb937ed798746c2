#pragma once
#include "brigade/pool/thread_pool.hpp"
