#include "tracing/span_exporter.h"

#include <vector>

namespace vj {

BatchSpanExporter::BatchSpanExporter(SpanExporterOptions options, OtlpPost post)
    : options_(std::move(options)), post_(std::move(post)) {
  thread_ = std::thread([this] { Run(); });
}

BatchSpanExporter::~BatchSpanExporter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool BatchSpanExporter::Push(std::unique_ptr<SpanData> span) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_queue_spans || stop_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(std::move(span));
    ++pushed_;
    wake = queue_.size() == options_.max_batch_spans;
  }
  if (wake) wake_.notify_one();
  return true;
}

void BatchSpanExporter::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = pushed_;
  if (flush_to_ < target) flush_to_ = target;
  wake_.notify_one();
  sent_.wait(lock, [&] { return handled_ >= target; });
}

uint64_t BatchSpanExporter::queued_spans() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void BatchSpanExporter::Run() {
  std::vector<std::unique_ptr<SpanData>> batch;
  // Once stopping, a failed send means the collector is gone or silent: the rest of the queue is counted
  // failed rather than sent, so that shutdown takes one timeout, not one per batch.
  bool failed_while_stopping = false;
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait_for(lock, options_.flush_interval, [&] {
      return stop_ || queue_.size() >= options_.max_batch_spans || handled_ < flush_to_;
    });
    // Every wake-up (a full batch, a flush, stop, or the interval passing) sends what is queued.
    while (!queue_.empty()) {
      const size_t n = std::min(queue_.size(), options_.max_batch_spans);
      batch.clear();
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      const bool stopping = stop_;
      lock.unlock();
      if (failed_while_stopping) {
        failed_.fetch_add(batch.size(), std::memory_order_relaxed);
      } else if (!Send(batch) && stopping) {
        failed_while_stopping = true;
      }
      lock.lock();
      handled_ += n;
      sent_.notify_all();
    }
    if (stop_) return;
  }
}

bool BatchSpanExporter::Send(std::vector<std::unique_ptr<SpanData>>& batch) {
  Status status = post_(EncodeOtlpTraces(options_.resource, batch));
  (status.ok() ? exported_ : failed_).fetch_add(batch.size(), std::memory_order_relaxed);
  return status.ok();
}

}  // namespace vj
