// Lazy coroutine task used to write endpoints as straight-line code.
//
// An endpoint is a Task that co_awaits Redis batches and thread-pool jobs
// (see call.h).  Those leaf awaiters suspend the whole chain of tasks and
// hand control back to Call::next(), which tells the nginx shim what I/O to
// perform; once the shim feeds the result back, the innermost coroutine is
// resumed.  Nested tasks chain through symmetric transfer, so a helper such
// as "authenticate the caller" can itself await Redis.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace restauth {

template <typename T>
class Task;

namespace detail {

struct PromiseBase {
    std::coroutine_handle<> continuation;
    std::exception_ptr exception;

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct FinalAwaiter {
        bool await_ready() const noexcept { return false; }
        template <typename P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept
        {
            auto next = h.promise().continuation;
            return next ? next : std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };

    FinalAwaiter final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { exception = std::current_exception(); }
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Task {
public:
    struct promise_type : detail::PromiseBase {
        std::optional<T> value;
        Task get_return_object()
        {
            return Task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        template <typename U>
        void return_value(U &&v)
        {
            value.emplace(std::forward<U>(v));
        }
    };

    explicit Task(std::coroutine_handle<promise_type> h) : handle_(h) {}
    Task(Task &&other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Task &operator=(Task &&other) noexcept
    {
        if (this != &other) {
            if (handle_) handle_.destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    Task(const Task &) = delete;
    Task &operator=(const Task &) = delete;
    ~Task()
    {
        if (handle_) handle_.destroy();
    }

    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept
    {
        handle_.promise().continuation = caller;
        return handle_;
    }
    T await_resume()
    {
        auto &p = handle_.promise();
        if (p.exception) std::rethrow_exception(p.exception);
        return std::move(*p.value);
    }

private:
    std::coroutine_handle<promise_type> handle_;
};

template <>
class [[nodiscard]] Task<void> {
public:
    struct promise_type : detail::PromiseBase {
        Task get_return_object()
        {
            return Task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        void return_void() {}
    };

    Task() = default;
    explicit Task(std::coroutine_handle<promise_type> h) : handle_(h) {}
    Task(Task &&other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Task &operator=(Task &&other) noexcept
    {
        if (this != &other) {
            if (handle_) handle_.destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    Task(const Task &) = delete;
    Task &operator=(const Task &) = delete;
    ~Task()
    {
        if (handle_) handle_.destroy();
    }

    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept
    {
        handle_.promise().continuation = caller;
        return handle_;
    }
    void await_resume()
    {
        if (handle_.promise().exception) std::rethrow_exception(handle_.promise().exception);
    }

    // Used by the root driver only.
    std::coroutine_handle<promise_type> handle() const { return handle_; }

private:
    std::coroutine_handle<promise_type> handle_;
};

}  // namespace restauth
