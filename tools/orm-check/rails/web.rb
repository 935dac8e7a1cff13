# frozen_string_literal: true

# The Action Pack / Action View / Action Mailer / Active Job side of check.rb: the few
# controllers, the mailer and the cache the web patterns need, run through Rack
# without a server. No Rails application is booted; `require "rails"` is only for
# `Rails.cache`.

require "rails"
require "action_controller"
require "action_dispatch/middleware/flash"
require "action_controller/action_caching"
require "action_view"
require "action_mailer"
require "active_job"
require "global_id"

module OrmCheck
  Rails.cache = ActiveSupport::Cache::MemoryStore.new
  ActionController::Base.cache_store = Rails.cache
  ActionController::Base.perform_caching = true
  ActionController::Base.logger = ActiveRecord::Base.logger

  # What the railties would have done for deliver_later's GlobalID arguments.
  GlobalID.app = "perfblog"
  ActiveRecord::Base.include GlobalID::Identification
  ActiveJob::Base.queue_adapter = :test
  ActiveJob::Base.logger = ActiveRecord::Base.logger
  ActionMailer::Base.logger = ActiveRecord::Base.logger

  # The lab's SMTP server accepts a message after 50 ms; so does this one.
  class SlowSmtp
    attr_accessor :settings

    def initialize(settings)
      @settings = settings
    end

    def deliver!(mail)
      sleep 0.05
      Capture.mark("SMTP: delivered #{mail.subject.inspect} to #{mail.to.join(', ')} (50 ms)")
    end
  end
  ActionMailer::Base.add_delivery_method :slow_smtp, SlowSmtp
  ActionMailer::Base.delivery_method = :slow_smtp

  class CommentMailer < ActionMailer::Base
    default from: "perfblog@example.com"

    def new_comment(comment)
      mail(to: comment.post.author.email, subject: "New comment on #{comment.post.title}",
           body: comment.body)
    end
  end

  ActionMailer::Base.delivery_job = ActionMailer::MailDeliveryJob # what load_defaults 6.0+ sets

  # Every cache read and write, shown among the statements, by the key the store sees.
  %w[cache_read cache_write cache_fetch_hit].each do |event|
    ActiveSupport::Notifications.subscribe("#{event}.active_support") do |_, _, _, _, payload|
      key = ActiveSupport::Cache.expand_cache_key(payload[:key])
      Capture.mark("cache #{event.sub('cache_', '')} #{key}#{" (hit: #{payload[:hit]})" if payload.key?(:hit)}")
    end
  end

  ROUTES = ActionDispatch::Routing::RouteSet.new

  # One request through the routes, as a server would run it: inside its own query
  # cache (Rails' executor turns it on per request), the body read chunk by chunk.
  def self.request(path, headers = {}, on_chunk: nil)
    ActiveRecord::Base.cache do
      env = Rack::MockRequest.env_for(path, headers)
      status, resp_headers, body = ROUTES.call(env)
      text = +""
      body.each do |chunk|
        text << chunk
        on_chunk&.call(status, chunk)
      end
      body.close if body.respond_to?(:close)
      [status, resp_headers, text]
    end
  end
end
