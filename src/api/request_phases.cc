#include "api/request_phases.h"

namespace vj {

HandlerPhases& CurrentHandlerPhases() {
  thread_local HandlerPhases phases;
  return phases;
}

ExecutePhase::~ExecutePhase() {
  const auto end = HandlerPhases::Clock::now();
  HandlerPhases& p = CurrentHandlerPhases();
  if (!p.executed) p.first_execute_begin = begin_;
  p.executed = true;
  p.last_execute_end = end;
  p.execute_seconds += std::chrono::duration<double>(end - begin_).count();
}

}  // namespace vj
