#pragma once
#include "brigade/task/combinators.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/task/task.hpp"
